"""FerretDB: the MongoDB wire protocol over SQLite files, one Go binary, no server to install.

Used for local runs and tests in place of MongoDB; services only see ``MONGODB_URI``.
"""

from __future__ import annotations

from pathlib import Path

from infra.checks import mongo_ping
from infra.paths import CACHE_DIR
from infra.processes import ManagedProcess
from infra.toolchain import ferretdb_binary


def mongodb_uri(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/"


def ferretdb_process(
    data_dir: Path,
    log_path: Path,
    *,
    port: int = 27017,
    cache_dir: Path = CACHE_DIR,
    ready_timeout: float = 30.0,
) -> ManagedProcess:
    """Build FerretDB if needed and return it, not yet started, storing into ``data_dir``."""
    binary = ferretdb_binary(cache_dir)
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        str(binary),
        "--handler=sqlite",
        f"--sqlite-url=file:{data_dir}/",
        f"--listen-addr=127.0.0.1:{port}",
        "--telemetry=disable",
        "--debug-addr=-",  # '-' turns the metrics/pprof listener off (cmd/ferretdb/main.go)
        f"--state-dir={data_dir}",
        "--log-level=warn",
    ]
    return ManagedProcess(
        "ferretdb",
        argv,
        log_path=log_path,
        ready=mongo_ping(mongodb_uri(port)),
        ready_timeout=ready_timeout,
    )
