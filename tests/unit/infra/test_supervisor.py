"""The runner's supervisor with real (tiny) processes: one that dies is started again after
its backoff; one that cannot start stops the runner for good, after a few tries."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from infra.processes import ManagedProcess, ProcessFailed
from infra.supervisor import Supervisor


def sleeper(tmp_path: Path, name: str) -> ManagedProcess:
    return ManagedProcess(
        name, [sys.executable, "-c", "import time; time.sleep(60)"], log_path=tmp_path / name
    )


def tick_until(supervisor: Supervisor, done: object, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the supervisor did not get there in time"
        supervisor.tick()
        time.sleep(0.05)


def test_a_process_that_dies_is_started_again(tmp_path: Path) -> None:
    said: list[str] = []
    one, other = sleeper(tmp_path, "one").start(), sleeper(tmp_path, "other").start()
    supervisor = Supervisor([one, other], said.append)
    try:
        first_pid, other_pid = one.pid, other.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        tick_until(supervisor, lambda: one.is_running() and one.pid != first_pid)
        assert other.pid == other_pid  # the others are left alone
        assert any("one exited unexpectedly" in line for line in said)
        assert any(line.startswith("one is back") for line in said)
        assert supervisor.watched[0].restarts == 1
    finally:
        one.stop()
        other.stop()


def test_a_process_that_cannot_start_stops_the_runner_after_a_few_tries(tmp_path: Path) -> None:
    said: list[str] = []
    broken = ManagedProcess(
        "broken", [sys.executable, "-c", "raise SystemExit(3)"], log_path=tmp_path / "broken",
        ready=lambda process: False,
    )  # fmt: skip
    broken.start()
    supervisor = Supervisor([broken], said.append, max_failed_starts=3, backoff_max=0.1)
    with pytest.raises(ProcessFailed, match="failed to start 3 times in a row"):
        tick_until(supervisor, lambda: False)
    assert sum("did not come back" in line for line in said) == 2


def test_the_backoff_doubles_and_is_capped() -> None:
    supervisor = Supervisor([], print, backoff_max=5)
    assert [supervisor.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 5.0]


def test_a_rolling_restart_restarts_one_kind_one_at_a_time(tmp_path: Path) -> None:
    said: list[str] = []
    names = ["kafka-1", "gateway", "gateway-2", "agents"]
    processes = [sleeper(tmp_path, name).start() for name in names]
    pids = {p.name: p.pid for p in processes}
    settled: list[tuple[str, list[bool]]] = []

    def record(kind: str) -> None:
        # When a process of the kind is settled, every one of them is up: never two down.
        settled.append((kind, [p.is_running() for p in processes]))

    supervisor = Supervisor(processes, said.append)
    supervisor.settled = record  # type: ignore[assignment]
    outcomes: list[tuple[str, list[tuple[str, float]]]] = []
    supervisor.rolled = lambda kind, took: outcomes.append((kind, took))
    try:
        supervisor.roll_requested = "gateway"
        supervisor.tick()
        assert [name for name, _ in outcomes[0][1]] == ["gateway", "gateway-2"]
        assert {p.name for p in processes if p.pid != pids[p.name]} == {"gateway", "gateway-2"}
        assert settled == [("gateway", [True] * 4)] * 2
        assert supervisor.roll_requested is None
        assert [line for line in said if "stopping" in line] == [
            "rolling restart: stopping gateway (SIGTERM)",
            "rolling restart: stopping gateway-2 (SIGTERM)",
        ]
    finally:
        for process in processes:
            process.stop()
