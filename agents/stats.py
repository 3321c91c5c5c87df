"""Figures a loop gathers as it goes and logs now and then, not after every step: how long
each step took and how much it carried, the numbers that say where the time goes (the
decider's commits, the projector's rounds)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

REPORT_EVERY = 30.0
"""Seconds between two reports."""


@dataclass(frozen=True)
class Period:
    """What a loop did since its last report."""

    seconds: float
    """How long the period lasted."""
    durations: list[float]
    """How long each step took, in the order they came (never empty)."""
    items: int
    """What the steps carried, in all (requests decided, records projected)."""


class PeriodicStats:
    """Gathers each step's duration and items, and hands them to ``report`` once a period of
    ``every`` seconds is over; a new period starts with the next step."""

    def __init__(self, report: Callable[[Period], None], every: float = REPORT_EVERY) -> None:
        self.report = report
        self.every = every
        self._begin()

    def add(self, seconds: float, items: int) -> None:
        self.durations.append(seconds)
        self.items += items
        if (elapsed := time.monotonic() - self.since) >= self.every:
            self.report(Period(elapsed, self.durations, self.items))
            self._begin()

    def _begin(self) -> None:
        self.durations: list[float] = []
        self.items = 0
        self.since = time.monotonic()
