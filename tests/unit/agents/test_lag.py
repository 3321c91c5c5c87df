"""Lag gauges are read when scraped: a stuck loop's lag grows with the log, a partition let
go of has no series, and a transactional log's end marker is not counted as lag."""

from __future__ import annotations

from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from agents.metrics import PartitionLag


class Consumer:
    def __init__(self) -> None:
        self.ends: dict[TopicPartition, int] = {}

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.ends.get(tp)


def test_lag_follows_the_log_while_the_loop_is_stuck_and_goes_with_the_partition() -> None:
    registry = CollectorRegistry()
    gauge = Gauge("lag", "lag", ["partition"], registry=registry)
    consumer, positions = Consumer(), {0: 10, 1: 4}
    lag = PartitionLag(gauge, lambda: consumer, positions.get, markers=1)
    zero, one = TopicPartition("log", 0), TopicPartition("log", 1)
    lag.owned(zero)
    lag.owned(one)
    consumer.ends = {zero: 11, one: 5}  # caught up: only the last commit's marker is beyond
    assert registry.get_sample_value("lag", {"partition": "0"}) == 0
    consumer.ends[zero] = 51  # the log grows; the loop does not move
    assert registry.get_sample_value("lag", {"partition": "0"}) == 40
    lag.released(zero)
    lag.released(zero)  # twice is fine
    assert registry.get_sample_value("lag", {"partition": "0"}) is None
    assert b'lag{partition="1"} 0.0' in generate_latest(registry)
