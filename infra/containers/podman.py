"""podman with the project's own settings, and its Docker-API service for testcontainers."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from infra.processes import ManagedProcess, ReadyCheck
from infra.toolchain import ToolchainError

CONTAINERS_CONF = Path(__file__).resolve().parent / "containers.conf"
RUN_LABEL = "chat-test.run"
"""Label on every test container (value: the run's id), so the runner can remove what a crashed
test session left behind: testcontainers' own reaper (Ryuk) is off on podman."""


def podman_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every podman call gets: our containers.conf instead of /etc's."""
    return {**(os.environ if environ is None else environ), "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def podman_binary() -> str:
    binary = shutil.which("podman")
    if binary is None:
        raise ToolchainError("podman is not installed (./dev test installs it with apt-get)")
    return binary


def podman(args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one podman command and return its output; ToolchainError with stderr if it fails."""
    done = subprocess.run(
        [podman_binary(), *args],
        env=podman_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and done.returncode != 0:
        raise ToolchainError(f"`podman {' '.join(args)}` failed: {done.stderr.strip()[-2000:]}")
    return done


def image_exists(name: str) -> bool:
    return podman(["image", "exists", name], check=False).returncode == 0


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=2.0)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.socket_path))


def docker_api_ping(socket_path: Path) -> ReadyCheck:
    """Ready when ``GET /_ping`` on the unix socket answers ``OK``, as Docker clients check."""

    def check(_: ManagedProcess) -> bool:
        connection = _UnixHTTPConnection(socket_path)
        try:
            connection.request("GET", "/_ping")
            return connection.getresponse().read() == b"OK"
        finally:
            connection.close()

    return check


def api_service(socket_path: Path, log_path: Path) -> ManagedProcess:
    """``podman system service`` serving the Docker API on ``socket_path``, not yet started.

    ``--time=0`` keeps it up until it is stopped, however long the suite leaves it idle.
    """
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    return ManagedProcess(
        "podman-api",
        [podman_binary(), "system", "service", "--time=0", f"unix://{socket_path}"],
        log_path=log_path,
        env=podman_env(),
        ready=docker_api_ping(socket_path),
        ready_timeout=30.0,
        stop_timeout=20.0,
    )


def remove_labelled(label: str) -> list[str]:
    """Force-remove every container carrying ``label`` (``key=value``); returns their ids."""
    ids = podman(["ps", "-aq", "--filter", f"label={label}"], check=False).stdout.split()
    if ids:
        podman(["rm", "-f", "-t", "0", *ids], check=False)
    return ids


@contextmanager
def docker_api(
    run_dir: Path, log_dir: Path, say: Callable[[str], None]
) -> Iterator[dict[str, str]]:
    """Serve the Docker API from podman for one test run; yields the variables testcontainers
    needs. Afterwards the run's containers are removed and the service is stopped."""
    run_id = uuid.uuid4().hex
    socket_path = run_dir / "podman.sock"
    service = api_service(socket_path, log_dir / "podman-api.log")
    service.start()
    try:
        service.wait_ready()
        say(f"podman serves the Docker API at unix://{socket_path}")
        yield {
            "DOCKER_HOST": f"unix://{socket_path}",
            # Ryuk would need its image from a registry; the runner cleans up instead.
            "TESTCONTAINERS_RYUK_DISABLED": "true",
            # The machine carries a container marker file, which would make testcontainers
            # look for a gateway or bridge address instead of the published ports.
            "TESTCONTAINERS_CONNECTION_MODE": "docker_host",
            "CHAT_TEST_RUN_ID": run_id,
        }
    finally:
        left = remove_labelled(f"{RUN_LABEL}={run_id}")
        if left:
            say(f"removed {len(left)} container(s) the tests left behind")
        service.stop()
        socket_path.unlink(missing_ok=True)
