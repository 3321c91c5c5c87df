"""The bench's reading of the search service's metrics (``tests.benchmarks.search_trail``)."""

from __future__ import annotations

import math

from prometheus_client import generate_latest

from search.metrics import SearchMetrics
from tests.benchmarks.search_trail import _delays, parse


def test_parse_reads_indexed_lag_and_delays_from_the_services_own_metrics() -> None:
    metrics = SearchMetrics()
    metrics.messages.labels(change="indexed").inc(7)
    metrics.messages.labels(change="edited").inc(2)
    metrics.log_lag.labels(partition="0").set(3)
    metrics.log_lag.labels(partition="1").set(4)
    for delay in (0.02, 0.3, 1.5):
        metrics.index_delay.observe(delay)

    sample = parse(generate_latest(metrics.registry).decode(), at=12.0)

    assert (sample.at, sample.indexed, sample.lag) == (12.0, 7, 7)
    assert sample.delays[0.05] == 1 and sample.delays[1.0] == 2 and sample.delays[math.inf] == 3


def test_delays_are_the_runs_part_of_the_histogram_as_bucket_bounds() -> None:
    before = {0.1: 5.0, 1.0: 5.0, 2.5: 5.0, math.inf: 5.0}  # an earlier run's
    after = {0.1: 103.0, 1.0: 104.0, 2.5: 105.0, math.inf: 105.0}

    assert _delays(before, after) == {
        "index_delay_s": {"p50": 0.1, "p99": 1.0, "max": 2.5},
        "over_1s": 1,
    }


def test_delays_of_a_run_that_indexed_nothing() -> None:
    assert _delays({math.inf: 3.0}, {math.inf: 3.0}) == {"index_delay_s": None, "over_1s": 0}
