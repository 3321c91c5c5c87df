"""Lag gauges are read when scraped: a stuck loop's lag grows with the log, a partition let
go of has no series, and a transactional log's end marker is not counted as lag."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from agents.metrics import PartitionLag


class Consumer:
    def __init__(self) -> None:
        self.ends: dict[TopicPartition, int] = {}
        self.assigned: set[TopicPartition] = set()

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    def highwater(self, tp: TopicPartition) -> int | None:
        assert tp in self.assigned  # as aiokafka's does
        return self.ends.get(tp)

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.ends[tp] + 100 for tp in partitions}  # further than the fetcher saw


def test_lag_follows_the_log_while_the_loop_is_stuck_and_goes_with_the_partition() -> None:
    registry = CollectorRegistry()
    gauge = Gauge("lag", "lag", ["partition"], registry=registry)
    consumer, positions = Consumer(), {0: 10, 1: 4}
    lag = PartitionLag(gauge, lambda: consumer, positions.get, markers=1)
    zero, one = TopicPartition("log", 0), TopicPartition("log", 1)
    consumer.assigned = {zero, one}
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


async def test_the_brokers_end_is_asked_for_while_the_fetcher_stands_still() -> None:
    registry = CollectorRegistry()
    gauge = Gauge("lag", "lag", ["partition"], registry=registry)
    consumer, tp = Consumer(), TopicPartition("log", 0)
    consumer.assigned, consumer.ends = {tp}, {tp: 10}
    lag = PartitionLag(gauge, lambda: consumer, {0: 10}.get)
    lag.owned(tp)
    assert registry.get_sample_value("lag", {"partition": "0"}) == 0
    following = asyncio.create_task(lag.follow_ends(every=0.01))
    async with asyncio.timeout(5):  # the broker's end asked for: the figure moves to it
        while registry.get_sample_value("lag", {"partition": "0"}) == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    following.cancel()
    assert registry.get_sample_value("lag", {"partition": "0"}) == 100
    consumer.assigned = set()  # let go of without ``released``: no error, no figure
    assert registry.get_sample_value("lag", {"partition": "0"}) == 0
