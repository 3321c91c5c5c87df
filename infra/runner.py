"""``up`` and ``test``: the two things a developer or CI asks of the runner."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import cast

from infra.checks import wait_in_sync
from infra.containers.images import IMAGE_SETTINGS, ensure_images
from infra.containers.podman import docker_api
from infra.paths import DATA_DIR, LOG_DIR, REPO_ROOT, venv_python
from infra.processes import ManagedProcess, ProcessFailed, stop_leftovers
from infra.services import agents_worker, auth_service, gateway_service, search_service
from infra.stack import Infra, InfraPorts, say_stderr, start_infra
from infra.supervisor import Kind, Supervisor
from infra.toolchain import ToolchainError

NO_TESTS_COLLECTED = 5


class Stop(Exception):
    """Raised in the main thread by SIGTERM, so it unwinds like Ctrl-C does."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def _quiet_client_logs() -> None:
    # Readiness probes connect before servers listen; those refusals are expected, not news.
    for name in ("aiokafka", "kafka", "pymongo"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def jwt_secret(environ: dict[str, str], data_dir: Path) -> str:
    """``JWT_SECRET`` if set, else one kept in ``.data/jwt_secret``: restarts keep tokens valid."""
    if environ.get("JWT_SECRET"):
        return environ["JWT_SECRET"]
    path = data_dir / "jwt_secret"
    if path.is_file() and len(path.read_text().strip()) >= 32:
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


def up(argv: Sequence[str]) -> int:
    """Start the servers and the services, print where they are, and keep them running
    (``infra.supervisor``) until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="./dev up", description=up.__doc__)
    parser.add_argument("--gateways", type=int, default=1, help="gateway nodes (ports from 8080)")
    parser.add_argument("--workers", type=int, default=1, help="agent workers")
    parser.add_argument(
        "--brokers",
        type=int,
        default=1,
        help="Kafka nodes (KRaft, each a broker and a controller; 3: topics at replication 3)",
    )
    args = parser.parse_args(argv)
    if args.gateways < 1 or args.workers < 1 or args.brokers < 1:
        parser.error("--gateways, --workers and --brokers take 1 or more")
    if (made := _brokers_made(DATA_DIR)) not in (None, args.brokers):
        parser.error(
            f"{DATA_DIR} holds the log of a Kafka of {made} broker(s): start it with "
            f"--brokers {made}, or set CHAT_DATA_DIR to a new folder (its log would be empty "
            "under the views built from the other)"
        )
    signal.signal(signal.SIGTERM, _raise_stop)
    environ = dict(os.environ)
    gateway_port = int(environ.get("GATEWAY_PORT", 8080))
    auth_port = int(environ.get("AUTH_PORT", 8081))
    search_port = int(environ.get("SEARCH_PORT", SEARCH_PORT))
    agents_port = int(environ.get("AGENTS_WEB_PORT", AGENTS_WEB_PORT))
    gateway_ports: list[int] = []
    port = gateway_port
    while len(gateway_ports) < args.gateways:  # 8080, 8082, 8083 …: auth keeps 8081
        if port not in (auth_port, search_port):
            gateway_ports.append(port)
        port += 1
    infra = Infra()
    services: list[ManagedProcess] = []
    say = _runner_log()
    try:
        started = time.monotonic()
        ports = InfraPorts.from_env(environ, brokers=args.brokers)
        infra = start_infra(DATA_DIR, LOG_DIR, ports, environ)
        say(f"infrastructure ready in {time.monotonic() - started:.1f}s")
        env = {**environ, **infra.env, "JWT_SECRET": jwt_secret(environ, DATA_DIR)}
        # A partition for each worker, when the topics are first made (they keep their count).
        env.setdefault("TOPIC_PARTITIONS", str(args.workers))
        # The page the gateway serves calls auth from the gateway's origin.
        env.setdefault(
            "AUTH_CORS_ORIGINS",
            ",".join(f"http://{host}:{port}" for port in gateway_ports
                     for host in ("127.0.0.1", "localhost")),
        )  # fmt: skip
        auth_url = f"http://127.0.0.1:{auth_port}"
        search_url = f"http://127.0.0.1:{search_port}"
        services = [auth_service(LOG_DIR / "auth.log", port=auth_port, env=env)]
        services += [
            gateway_service(
                LOG_DIR / ("gateway.log" if n == 0 else f"gateway-{n + 1}.log"),
                port=port,
                auth_url=auth_url,
                env={**env, "SEARCH_URL": search_url},
                name="gateway" if n == 0 else f"gateway-{n + 1}",
            )
            for n, port in enumerate(gateway_ports)
        ]
        services += [
            agents_worker(
                LOG_DIR / ("agents.log" if n == 0 else f"agents-{n + 1}.log"),
                # A stable instance id: a restarted worker gets its partitions back at once.
                env={"AGENTS_INSTANCE_ID": f"agents-{n + 1}", **env},
                datadir=DATA_DIR / ("agents" if n == 0 else f"agents-{n + 1}"),
                web_port=agents_port + n,
                name="agents" if n == 0 else f"agents-{n + 1}",
            )
            for n in range(args.workers)
        ]
        services.append(
            search_service(
                LOG_DIR / "search.log", port=search_port, data_dir=DATA_DIR / "search", env=env
            )
        )
        for service in services:
            service.start()
        for service in services:
            service.wait_ready()
            say(f"{service.name} ready (pid {service.pid}, log {service.log_path})")
        agents_ports = [agents_port + n for n in range(args.workers)]
        _print_urls(gateway_ports, auth_port, search_port, agents_ports, infra)
        supervisor = Supervisor([*infra.processes, *services], say)
        supervisor.settled = lambda kind: _settled(kind, infra)
        supervisor.rolled = _rolled
        _take_restart_requests(supervisor)
        supervisor.run_forever()
        return 0
    except (KeyboardInterrupt, Stop):
        say("stopping")
        return 0
    except (ProcessFailed, ToolchainError, FileNotFoundError) as error:
        say(f"FAILED: {error}")
        return 1
    finally:
        _stop_all(services, infra)


RUN_DIR = DATA_DIR / "run"
"""Where a running ``./dev up`` keeps its pid, and ``./dev restart`` its request and answer."""
KINDS: tuple[Kind, ...] = ("gateway", "agents", "broker")


def _take_restart_requests(supervisor: Supervisor) -> None:
    """Let ``./dev restart`` ask: it writes the kind in ``RUN_DIR/restart`` and sends
    SIGUSR1; the supervisor's next tick restarts that kind in turn."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    (RUN_DIR / "runner.pid").write_text(str(os.getpid()))

    def requested(signum: int, _frame: FrameType | None) -> None:
        kind = (RUN_DIR / "restart").read_text().strip()
        if kind in KINDS:
            supervisor.roll_requested = cast(Kind, kind)

    signal.signal(signal.SIGUSR1, requested)


def _settled(kind: Kind, infra: Infra) -> None:
    """After a broker is back: its partitions in sync before the next one goes."""
    if kind == "broker":
        wait_in_sync(infra.env["KAFKA_URL"])


def _rolled(kind: Kind, took: list[tuple[str, float]]) -> None:
    lines = [f"{name}: back in {seconds:.1f}s" for name, seconds in took]
    (RUN_DIR / "restart-done").write_text("\n".join(lines or [f"no {kind} is running"]) + "\n")


def restart(argv: Sequence[str]) -> int:
    """Restart every process of one kind of the running ``./dev up``, one at a time, each
    once the one before is ready again (a broker: its partitions in sync), as a rolling
    upgrade would; print how long each took."""
    parser = argparse.ArgumentParser(prog="./dev restart", description=restart.__doc__)
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--within", type=float, default=900.0, help="seconds to wait (900)")
    args = parser.parse_args(argv)
    try:
        pid = int((RUN_DIR / "runner.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        say_stderr("no ./dev up is running here (start one first)")
        return 1
    done = RUN_DIR / "restart-done"
    done.unlink(missing_ok=True)
    (RUN_DIR / "restart").write_text(args.kind)
    os.kill(pid, signal.SIGUSR1)
    say_stderr(f"restarting every {args.kind}, one at a time (the runner's log tells each step)")
    deadline = time.monotonic() + args.within
    while not done.exists():
        if time.monotonic() > deadline:
            say_stderr(f"not done after {args.within:.0f}s")
            return 1
        time.sleep(0.5)
    print(done.read_text(), end="")
    return 0


def _brokers_made(data_dir: Path) -> int | None:
    """How many Kafka nodes the data dir's log was made with (None: none made yet)."""
    if (data_dir / "kafka").is_dir():
        return 1
    return len(list(data_dir.glob("kafka-*"))) or None


AGENTS_WEB_PORT = 6066
"""The first agent worker's /healthz, /readyz and /metrics (``AGENTS_WEB_PORT``); the next
ones count up."""
SEARCH_PORT = 8070
"""The search service's port (``SEARCH_PORT``); the gateways are given its URL."""


def _runner_log() -> Callable[[str], None]:
    """Say it on the terminal and in ``.data/logs/runner.log``."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    path = LOG_DIR / "runner.log"

    def say(message: str) -> None:
        say_stderr(message)
        with path.open("a") as log:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

    return say


def _print_urls(
    gateway_ports: list[int],
    auth_port: int,
    search_port: int,
    agents_ports: list[int],
    infra: Infra,
) -> None:
    gateways = [f"  gateway   http://127.0.0.1:{port}" for port in gateway_ports]
    agents = [f"  agents    http://127.0.0.1:{port}/metrics" for port in agents_ports]
    print(
        "\n".join(
            [
                "",
                "chat is up:",
                *gateways,
                f"  auth      http://127.0.0.1:{auth_port}",
                f"  search    http://127.0.0.1:{search_port}",
                *agents,
                f"  kafka     {infra.env['KAFKA_URL']}",
                f"  mongodb   {infra.env['MONGODB_URI']}",
                f"  redis     {infra.env['REDIS_URL']}",
                f"  logs      {LOG_DIR}/ (the runner's own: runner.log)",
                "Whatever exits is restarted. Ctrl-C stops everything.",
                "",
            ]
        ),
        flush=True,
    )


def _stop_all(services: list[ManagedProcess], infra: Infra) -> None:
    """Services first, so none of them sees its servers vanish; then the servers."""
    # A second Ctrl-C during shutdown must not leave orphans behind.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for service in reversed(services):
        if service.is_running():
            say_stderr(f"stopping {service.name}")
        service.stop()
    infra.stop()


TYPE_CHECKED = ("records", "agents", "gateway", "search")
"""The packages mypy checks before the tests: every ``match`` over facts and requests ends in
``assert_never``, so a new fact or request not handled somewhere fails here, by name."""


def typecheck() -> int:
    """mypy over ``TYPE_CHECKED`` (configured in ``pyproject.toml``); its exit code."""
    say_stderr(f"type-checking {', '.join(TYPE_CHECKED)} with mypy")
    return subprocess.call([venv_python(), "-m", "mypy", *TYPE_CHECKED], cwd=REPO_ROOT)


def test(argv: Sequence[str]) -> int:
    """Type-check (``typecheck``), then run pytest against fresh servers; pytest's exit
    code, 'no tests' is 1.

    By default the integration suite starts its servers itself, as containers through
    testcontainers on podman's Docker API (images built here when missing). With
    ``--processes`` (or ``CHAT_TEST_SERVERS=processes``) the runner starts them as plain
    processes on free ports and exports their URLs instead.
    """
    signal.signal(signal.SIGTERM, _raise_stop)
    if (checked := typecheck()) != 0:
        say_stderr("FAILED: mypy found type errors (above)")
        return checked
    args = list(argv)
    processes = os.environ.get("CHAT_TEST_SERVERS") == "processes"
    if args[:1] == ["--processes"]:
        args, processes = args[1:], True
    log_dir = LOG_DIR / "test"
    if log_dir.exists():
        shutil.rmtree(log_dir)
    environ = {
        **os.environ,
        "JWT_SECRET": os.environ.get("JWT_SECRET") or secrets.token_urlsafe(48),
        "INFRA_LOG_DIR": str(log_dir),
    }
    try:
        if processes:
            code = _test_with_processes(args, environ, log_dir)
        else:
            code = _test_in_containers(args, environ, log_dir)
    except (KeyboardInterrupt, Stop):
        say_stderr("interrupted")
        return 130
    except (ProcessFailed, ToolchainError, FileNotFoundError) as error:
        say_stderr(f"FAILED: {error}")
        return 1
    if code == NO_TESTS_COLLECTED:
        say_stderr("FAILED: pytest collected no tests (exit 5); a run that tests nothing fails")
        return 1
    return code


def _pytest(argv: Sequence[str], env: dict[str, str]) -> int:
    """Run pytest; if the runner is stopped, let pytest's teardown stop what the tests started
    (agent workers, containers) before it is killed."""
    # Everything the tests start (agent workers) runs from under this folder, so whatever a
    # killed pytest could not stop is found by it and stopped here.
    basetemp = Path(tempfile.mkdtemp(prefix="chat-pytest-"))
    options = [] if any(a.startswith("--basetemp") for a in argv) else [f"--basetemp={basetemp}"]
    child = subprocess.Popen(
        [venv_python(), "-m", "pytest", *options, *(argv or ["tests"])], cwd=REPO_ROOT, env=env
    )
    try:
        return child.wait()
    except BaseException as stop:
        if isinstance(stop, Stop):  # Ctrl-C already reached pytest, a SIGTERM did not
            child.send_signal(signal.SIGINT)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise
    finally:
        for pid in stop_leftovers(str(basetemp)):
            say_stderr(f"stopped a process the tests left running (pid {pid})")


def _test_in_containers(argv: Sequence[str], environ: dict[str, str], log_dir: Path) -> int:
    """Build the images if needed, serve the Docker API from podman, run pytest through it."""
    for name in ("KAFKA_URL", "MONGODB_URI", "REDIS_URL"):
        if environ.get(name):
            say_stderr(f"note: {name} is set, so the tests use that server, not a container")
    started = time.monotonic()
    images = ensure_images(say=say_stderr)
    say_stderr(f"images ready in {time.monotonic() - started:.1f}s")
    for role, variable in IMAGE_SETTINGS.items():
        environ.setdefault(variable, images[role])
    run_dir = Path(tempfile.mkdtemp(prefix="chat-podman-"))
    try:
        with docker_api(run_dir, log_dir, say_stderr) as engine:
            return _pytest(argv, {**environ, **engine})
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _test_with_processes(argv: Sequence[str], environ: dict[str, str], log_dir: Path) -> int:
    """Start Kafka, FerretDB and Redis on free ports, export their URLs, run pytest."""
    data_dir = Path(tempfile.mkdtemp(prefix="chat-test-"))
    infra = Infra()
    try:
        started = time.monotonic()
        infra = start_infra(data_dir, log_dir, InfraPorts.free(), environ)
        say_stderr(
            f"infrastructure ready in {time.monotonic() - started:.1f}s: "
            + ", ".join(f"{k}={v}" for k, v in infra.env.items())
        )
        code = _pytest(argv, {**environ, **infra.env})
        for process in infra.processes:
            if not process.is_running():
                say_stderr(f"note: {process.name} died during the tests; see {process.log_path}")
        return code
    finally:
        _stop_all([], infra)
        shutil.rmtree(data_dir, ignore_errors=True)


def bench(argv: Sequence[str]) -> int:
    """The benchmark (``tests/benchmarks/bench.py``); it starts what it measures."""
    return subprocess.call([venv_python(), "-m", "tests.benchmarks.bench", *argv], cwd=REPO_ROOT)


COMMANDS = {"up": up, "restart": restart, "test": test, "bench": bench}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        print(
            "usage: ./dev up [--gateways N] [--workers N] [--brokers N]"
            " | ./dev restart gateway|agents|broker"
            " | ./dev test [--processes] [pytest args...] | ./dev bench [--quick] [--search]",
            file=sys.stderr,
        )
        return 2
    _quiet_client_logs()
    return COMMANDS[args[0]](args[1:])
