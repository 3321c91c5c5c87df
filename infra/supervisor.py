"""Keeping ``./dev up`` running: whatever exits unexpectedly is started again.

Each process is watched; one that exits is restarted after a backoff that doubles with each
failure in a row (``0.5 s`` … ``backoff_max``) and is forgotten once the process has stayed up
``healthy_after`` seconds. A restart waits for the process to be ready again; one that fails
to come up ``max_failed_starts`` times in a row stops the runner for good, with its log.
Everything said goes to the terminal and to the runner's own log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from infra.processes import ManagedProcess, ProcessFailed

Say = Callable[[str], None]


@dataclass
class Supervised:
    process: ManagedProcess
    up_since: float
    failures: int = 0
    """Exits and failed starts in a row, without a healthy spell between them."""
    failed_starts: int = 0
    restarts: int = 0
    retry_at: float | None = None
    """When the process is down: when it is started again."""


@dataclass
class Supervisor:
    processes: list[ManagedProcess]
    say: Say
    max_failed_starts: int = 5
    backoff_max: float = 30.0
    healthy_after: float = 60.0
    watched: list[Supervised] = field(default_factory=list)

    def __post_init__(self) -> None:
        now = time.monotonic()
        self.watched = [Supervised(process, up_since=now) for process in self.processes]

    def run_forever(self, interval: float = 0.5) -> None:
        while True:
            self.tick()
            time.sleep(interval)

    def backoff(self, failures: int) -> float:
        return float(min(self.backoff_max, 0.5 * 2 ** max(failures - 1, 0)))

    def tick(self) -> None:
        """One look at every process: note exits, restart those whose backoff has passed.
        ``ProcessFailed`` when one will not start any more."""
        for watched in self.watched:
            now = time.monotonic()
            process = watched.process
            if watched.retry_at is None:
                if process.is_running():
                    if now - watched.up_since >= self.healthy_after:
                        watched.failures = 0
                    continue
                watched.failures += 1
                delay = self.backoff(watched.failures)
                self.say(
                    f"{process.name} exited unexpectedly (code {process.returncode()}); "
                    f"restarting it in {delay:.1f}s (log {process.log_path})"
                )
                watched.retry_at = now + delay
            elif now >= watched.retry_at:
                self._restart(watched)

    def _restart(self, watched: Supervised) -> None:
        process = watched.process
        process.stop()  # whatever its process group left behind
        self.say(f"restarting {process.name}")
        try:
            process.start().wait_ready()
        except ProcessFailed as error:
            process.stop()
            watched.failed_starts += 1
            watched.failures += 1
            if watched.failed_starts >= self.max_failed_starts:
                raise ProcessFailed(
                    f"{process.name} failed to start {watched.failed_starts} times in a row; "
                    f"giving up. {error}"
                ) from None
            delay = self.backoff(watched.failures)
            self.say(f"{process.name} did not come back; trying again in {delay:.1f}s")
            watched.retry_at = time.monotonic() + delay
            return
        watched.failed_starts = 0
        watched.restarts += 1
        watched.retry_at = None
        watched.up_since = time.monotonic()
        self.say(f"{process.name} is back (pid {process.pid}, restart {watched.restarts})")
