"""The agent worker's Prometheus metrics, in a registry of its own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

log = logging.getLogger(__name__)

COMMIT_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class AgentsMetrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.decided = Counter(
            "chat_agents_decided_requests", "Requests decided and committed", registry=registry
        )
        self.facts = Counter(
            "chat_agents_facts", "Facts committed to the event log", registry=registry
        )
        self.dead_letters = Counter(
            "chat_agents_dead_letters", "Requests set aside to the dead-letter topic",
            registry=registry,
        )  # fmt: skip
        self.commit_seconds = Histogram(
            "chat_agents_commit_seconds",
            "Duration of a partition's transaction (facts, answers, offsets)",
            buckets=COMMIT_BUCKETS,
            registry=registry,
        )
        self.request_lag = Gauge(
            "chat_agents_request_lag",
            "Requests of a partition this worker has not decided yet (consumer lag)",
            ["partition"],
            registry=registry,
        )
        self.projection_lag = Gauge(
            "chat_agents_projection_lag",
            "Facts of a partition of the log not yet written to the views",
            ["partition"],
            registry=registry,
        )
        self.projected = Counter(
            "chat_agents_projected_facts", "Facts written to the views", registry=registry
        )


class PartitionLag:
    """A lag gauge read when scraped, not set after each batch: a loop that is stuck (MongoDB
    away, a transaction failing) shows its lag growing instead of its last good figure, and a
    partition this worker no longer owns has no series here (another worker reports it).

    Lag is the partition's end, as the consumer last fetched it, less ``position(partition)``
    (the next offset the loop will handle), less ``markers`` (a transactional log's end
    includes the last commit's marker)."""

    def __init__(
        self,
        gauge: Gauge,
        consumer: Callable[[], AIOKafkaConsumer | None],
        position: Callable[[int], int | None],
        markers: int = 0,
    ) -> None:
        self.gauge, self.consumer, self.position, self.markers = gauge, consumer, position, markers
        self.ends: dict[TopicPartition, int] = {}
        """Each owned partition's end, asked of the broker every few seconds: the fetcher's
        high-water mark stands still while a partition is paused or its records wait."""

    async def follow_ends(self, every: float = 2.0) -> None:
        """Keep ``ends`` fresh until cancelled."""
        while True:
            consumer = self.consumer()
            assigned = list(consumer.assignment()) if consumer is not None else []
            if assigned:
                try:
                    self.ends.update(await consumer.end_offsets(assigned))  # type: ignore[union-attr]
                except Exception as exc:  # noqa: BLE001 - a missed refresh only ages the figure
                    log.debug("could not read the log's end offsets: %r", exc)
            await asyncio.sleep(every)

    def owned(self, tp: TopicPartition) -> None:
        self.gauge.labels(partition=str(tp.partition)).set_function(lambda: self._lag(tp))

    def released(self, tp: TopicPartition) -> None:
        self.ends.pop(tp, None)
        try:
            self.gauge.remove(str(tp.partition))
        except KeyError:
            pass

    def _lag(self, tp: TopicPartition) -> float:
        consumer, position = self.consumer(), self.position(tp.partition)
        if consumer is None or position is None or tp not in consumer.assignment():
            return 0.0  # (``highwater`` asserts the partition is assigned)
        ends = [end for end in (consumer.highwater(tp), self.ends.get(tp)) if end is not None]
        return float(max(0, max(ends) - self.markers - position)) if ends else 0.0
