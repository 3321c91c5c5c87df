"""Redis for Socket.IO fan-out between gateway nodes: in memory only, nothing saved to disk."""

from __future__ import annotations

import shutil
from pathlib import Path

from infra.checks import redis_ping
from infra.processes import ManagedProcess


def redis_url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


def redis_process(
    data_dir: Path, log_path: Path, *, port: int = 6379, ready_timeout: float = 20.0
) -> ManagedProcess:
    """Return redis-server on 127.0.0.1:``port``, not yet started."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed (./dev installs it with apt-get)")
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(data_dir),
        "--daemonize",
        "no",
    ]
    return ManagedProcess(
        "redis", argv, log_path=log_path, ready=redis_ping(port), ready_timeout=ready_timeout
    )
