"""Keeping ``./dev up`` running: whatever exits unexpectedly is started again.

Each process is watched; one that exits is restarted after a backoff that doubles with each
failure in a row (``0.5 s`` … ``backoff_max``) and is forgotten once the process has stayed up
``healthy_after`` seconds. A restart waits for the process to be ready again; one that fails
to come up ``max_failed_starts`` times in a row stops the runner for good, with its log.
Everything said goes to the terminal and to the runner's own log.

A rolling restart (``roll``, what ``./dev restart`` asks for) restarts the processes of one
kind one at a time, as an upgrade would: SIGTERM (each stops gracefully: a gateway node closes
its sockets so its clients reconnect elsewhere, a worker ends its transaction and leaves, a
broker hands its leaderships over), wait for the exit, start it again, wait until it is ready
(and whatever ``settled`` adds: a broker's partitions back in sync), then the next.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from infra.processes import ManagedProcess, ProcessFailed

Say = Callable[[str], None]
Kind = Literal["gateway", "agents", "broker"]
KIND_PREFIXES: dict[Kind, str] = {"gateway": "gateway", "agents": "agents", "broker": "kafka"}
"""The processes of each kind, by name: ``gateway``, ``gateway-2`` …, ``kafka-1`` …"""


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
    rolled: Callable[[Kind, list[tuple[str, float]]], None] = lambda kind, took: None
    """Told the outcome of each rolling restart (``./dev restart`` waits for it)."""
    settled: Callable[[Kind], None] = lambda kind: None
    """Called after a restarted process is ready, before the next one goes: a broker's
    partitions must be in sync again, or the next broker's stop could take the last
    in-sync replica of some partition."""
    roll_requested: Kind | None = None
    """Set (from a signal handler) to have the next ``tick`` restart that kind in turn."""

    def __post_init__(self) -> None:
        now = time.monotonic()
        self.watched = [Supervised(process, up_since=now) for process in self.processes]

    def run_forever(self, interval: float = 0.5) -> None:
        while True:
            self.tick()
            time.sleep(interval)

    def roll(self, kind: Kind) -> list[tuple[str, float]]:
        """Restart every process of ``kind``, one at a time; each one's name and the seconds
        from its SIGTERM to its being ready (and settled) again."""
        prefix = KIND_PREFIXES[kind]
        took = []
        for watched in self.watched:
            process = watched.process
            if not process.name.startswith(prefix):
                continue
            began = time.monotonic()
            self.say(f"rolling restart: stopping {process.name} (SIGTERM)")
            process.stop()
            process.start().wait_ready()
            self.settled(kind)
            watched.up_since, watched.retry_at = time.monotonic(), None
            took.append((process.name, time.monotonic() - began))
            self.say(f"rolling restart: {process.name} is back in {took[-1][1]:.1f}s")
        return took

    def backoff(self, failures: int) -> float:
        return float(min(self.backoff_max, 0.5 * 2 ** max(failures - 1, 0)))

    def tick(self) -> None:
        """One look at every process: note exits, restart those whose backoff has passed;
        a rolling restart if one was asked for. ``ProcessFailed`` when one will not start any
        more."""
        if (kind := self.roll_requested) is not None:
            self.roll_requested = None
            self.rolled(kind, self.roll(kind))
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
