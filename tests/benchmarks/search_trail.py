"""How far the search index trails the event log during and at the end of a bench run.

The issue's target: indexing at 1,000 messages/s without the index trailing by more than 1 s
at the end of a run. Read from the search service's own metrics (``search.metrics``), polled
while the load generator runs: the index's count of messages indexed (bumped once a round is
committed, i.e. findable), its lag behind the log in records, and its histogram of the
delay from a message's ``saved_at`` to its being findable.
"""

from __future__ import annotations

import math
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

POLL = 0.05
"""Seconds between two reads of the metrics: the precision of ``trail_s``."""


@dataclass(frozen=True)
class Sample:
    """The search service's metrics at one moment (``time.time()``)."""

    at: float
    indexed: float
    lag: float
    delays: dict[float, float] = field(default_factory=dict)
    """The index delay histogram: cumulative count of messages by upper bound (s)."""


def sample(url: str) -> Sample:
    """Read ``url``/metrics once."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=2.0) as response:  # noqa: S310
        return parse(response.read().decode(), time.time())


def parse(text: str, at: float) -> Sample:
    """The figures this needs of the search service's metrics, in the text format."""
    indexed = lag = 0.0
    delays: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "chat_search_messages_total" and s.labels.get("change") == "indexed":
                indexed += s.value
            elif s.name == "chat_search_log_lag":
                lag += s.value
            elif s.name == "chat_search_index_delay_seconds_bucket":
                delays[float(s.labels["le"])] = s.value
    return Sample(at, indexed, lag, delays)


class SearchWatch:
    """Polls the search service's metrics in a thread from ``start`` to ``stop``, so the
    moment the run's last message became findable is known to ``POLL``, even when that was
    before the load generator returned."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> SearchWatch:
        self.samples.append(sample(self.url))
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(POLL):
            try:
                self.samples.append(sample(self.url))
            except OSError:
                continue  # a slow answer under load: the next poll will do

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def at_end(
        self, messages: int | None, last_saved_at: float | None, within: float = 60.0
    ) -> dict[str, Any]:
        """Called when the load generator has returned: keep polling until the index has no
        lag left and holds the run's ``messages`` (None: only the lag), then stop.

        ``facts_behind``: the log's records not yet in the index when the load generator
        returned; ``caught_up_s``: how long after that until there were none; ``trail_s``:
        from the newest message's ``saved_at`` (``last_saved_at``, ms since the epoch) to the
        round that made the run's last message findable; ``index_delay_s``: the run's messages'
        saved→findable delay, as histogram bucket upper bounds; ``over_1s``: how many took
        longer than a second."""
        first = sample(self.url)
        ended = first.at
        done = first if first.lag == 0 and self._holds(first, messages) else None
        while done is None and time.time() - ended < within:
            latest = self.samples[-1]
            if latest.at >= ended and latest.lag == 0 and self._holds(latest, messages):
                done = latest
            time.sleep(POLL)
        self.stop()
        base, last = self.samples[0], max([*self.samples, first], key=lambda s: s.at)
        findable = next((s for s in self.samples if self._holds(s, messages)), None)
        trail = None
        if messages and findable is not None and last_saved_at:
            trail = round(findable.at - last_saved_at / 1000, 3)
        return {
            "facts_behind": int(first.lag),
            "caught_up_s": round(done.at - ended, 2) if done is not None else None,
            "left": int(last.lag),
            "indexed": int(last.indexed - base.indexed),
            "trail_s": trail,
            **_delays(base.delays, last.delays),
        }

    def _holds(self, now: Sample, messages: int | None) -> bool:
        return messages is None or now.indexed - self.samples[0].indexed >= messages


def _delays(before: dict[float, float], after: dict[float, float]) -> dict[str, Any]:
    """The run's part of the index delay histogram: percentiles as the upper bound of their
    bucket (``inf``: past the last bound, shown as None), and the count over a second."""
    run = {le: after[le] - before.get(le, 0.0) for le in sorted(after)}
    total = run.get(math.inf, 0.0)
    if total == 0:
        return {"index_delay_s": None, "over_1s": 0}

    def upper(q: float) -> float | None:
        bound = next(le for le, count in run.items() if count >= q * total)
        return None if math.isinf(bound) else bound

    within_1s = run.get(1.0, 0.0)
    quantiles = {"p50": upper(0.5), "p99": upper(0.99), "max": upper(1.0)}
    return {"index_delay_s": quantiles, "over_1s": int(total - within_1s)}
