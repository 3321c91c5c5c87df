"""The project's own services as child processes: auth, gateway, search and the Faust agents
worker.

``up`` uses these; integration tests can use them too, e.g.
``start_agents_worker(env, tmp_path / "agents.log")`` with the env ``infra test`` exported.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path

from infra.checks import http_ok, log_contains
from infra.paths import REPO_ROOT, free_port, venv_python
from infra.processes import ManagedProcess, ReadyCheck

AGENTS_READY = log_contains(r"\[\^Worker\]: Ready")
"""Faust logs ``[^Worker]: Ready`` once the worker has joined its group and started agents."""


def _env(env: Mapping[str, str] | None, **extra: str) -> dict[str, str]:
    merged = dict(os.environ if env is None else env)
    merged.update(extra)
    merged.setdefault("PYTHONUNBUFFERED", "1")  # log lines reach the log file as they happen
    return merged


def auth_service(
    log_path: Path,
    *,
    port: int = 8081,
    env: Mapping[str, str] | None = None,
    ready: ReadyCheck | None = None,
    ready_timeout: float = 30.0,
) -> ManagedProcess:
    """``python -m auth`` on ``port``; ready when GET /readyz answers 200. Not yet started."""
    return ManagedProcess(
        "auth",
        [venv_python(), "-m", "auth"],
        log_path=log_path,
        env=_env(env, AUTH_PORT=str(port)),
        cwd=REPO_ROOT,
        ready=ready or http_ok(f"http://127.0.0.1:{port}/readyz"),
        ready_timeout=ready_timeout,
    )


def gateway_service(
    log_path: Path,
    *,
    port: int = 8080,
    auth_url: str = "http://127.0.0.1:8081",
    env: Mapping[str, str] | None = None,
    ready: ReadyCheck | None = None,
    ready_timeout: float = 30.0,
    name: str = "gateway",
) -> ManagedProcess:
    """``python -m gateway`` on ``port``; ready when GET /readyz answers 200. Not yet started.
    ``name``: how the runner speaks of it (``gateway-2`` for a second node)."""
    return ManagedProcess(
        name,
        [venv_python(), "-m", "gateway"],
        log_path=log_path,
        env=_env(env, GATEWAY_PORT=str(port), AUTH_SERVICE_URL=auth_url),
        cwd=REPO_ROOT,
        ready=ready or http_ok(f"http://127.0.0.1:{port}/readyz"),
        ready_timeout=ready_timeout,
    )


def search_service(
    log_path: Path,
    *,
    port: int = 8070,
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    ready: ReadyCheck | None = None,
    ready_timeout: float = 60.0,
) -> ManagedProcess:
    """``python -m search`` on ``port``, its index in ``data_dir``; ready when GET /readyz
    answers 200 (it has caught up with the event log). Not yet started."""
    return ManagedProcess(
        "search",
        [venv_python(), "-m", "search"],
        log_path=log_path,
        env=_env(env, SEARCH_PORT=str(port), SEARCH_DATA_DIR=str(data_dir)),
        cwd=REPO_ROOT,
        ready=ready or http_ok(f"http://127.0.0.1:{port}/readyz"),
        ready_timeout=ready_timeout,
    )


def faust_command() -> list[str]:
    """``python -m faust`` when the package runs as a module, else the venv's ``faust`` script."""
    if importlib.util.find_spec("faust.__main__") is not None:
        return [venv_python(), "-m", "faust"]
    return [str(Path(venv_python()).with_name("faust"))]


def agents_worker(
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    app: str = "agents.app",
    web_port: int | None = None,
    datadir: Path | None = None,
    ready: ReadyCheck = AGENTS_READY,
    ready_timeout: float = 90.0,
    name: str = "agents",
) -> ManagedProcess:
    """A Faust worker for ``app`` with its web server on a free port. Not yet started.

    ``datadir`` keeps Faust's table state out of the working tree (defaults beside the log).
    """
    datadir = datadir or log_path.parent / "agents-data"
    level = (dict(env) if env is not None else os.environ).get("LOG_LEVEL", "info").lower()
    argv = [
        *faust_command(),
        "--loop",  # uvloop, as the gateway: the worker's writes to the broker cost less
        "uvloop",
        "--datadir",
        str(datadir),
        "-A",
        app,
        "worker",
        "-l",
        # Faust's names: ``warn``, ``crit``; ``configure_logging`` sets the level after.
        {"warning": "warn", "critical": "crit"}.get(level, level),
        "--web-bind",
        "127.0.0.1",
        "--web-port",
        str(web_port or free_port()),
    ]
    return ManagedProcess(
        name,
        argv,
        log_path=log_path,
        env=_env(env),
        cwd=REPO_ROOT,
        ready=ready,
        ready_timeout=ready_timeout,
        stop_timeout=20.0,
    )


def start_agents_worker(
    env: Mapping[str, str], log_path: Path, **options: object
) -> ManagedProcess:
    """Start a Faust worker with ``env`` and wait until it logs Ready (for test fixtures)."""
    return agents_worker(log_path, env=env, **options).start_and_wait()  # type: ignore[arg-type]
