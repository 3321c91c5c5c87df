"""The event log, read by every gateway node in full: each fact goes to what this node knows of
the log (``gateway.seen``), then to this node's sockets (``gateway.delivery``).

Each node reads every partition of the group-events log (committed facts only, from the end
it finds at start) and delivers what concerns its sockets itself: there is no pub/sub hop
between the log and a socket to lose a message on, and every node knows the newest position
of every group. Other nodes' sockets are served by those nodes.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from gateway.delivery import Delivery
from gateway.metrics import GatewayMetrics
from gateway.seen import SeenLog
from gateway.settings import Settings
from records.facts import MessageSaved
from records.kafka import LIVE_FETCH_WAIT_MS, committed_reader, partitions_of
from records.sealing import Keyring

log = logging.getLogger(__name__)


class LogReader:
    def __init__(
        self, settings: Settings, seen: SeenLog, delivery: Delivery, metrics: GatewayMetrics
    ) -> None:
        self.settings = settings
        self.seen = seen
        self.delivery = delivery
        self.metrics = metrics
        self.keyring = Keyring(settings)  # shares the log's consumer (``_read``)

    async def follow(self, started: asyncio.Event) -> None:
        """Read the log until cancelled, ``started`` set once the reader knows where it
        starts; a consumer that fails is replaced, resuming where it stopped, so this node
        misses nothing it has begun to read."""
        while True:
            try:
                await self._read(started)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading the event log failed; resuming in 1 s")
                await asyncio.sleep(1.0)

    async def _read(self, started: asyncio.Event) -> None:
        topic, keyring, positions = self.settings.topics.events, self.keyring, self.seen.positions
        consumer = committed_reader(self.settings, fetch_max_wait_ms=LIVE_FETCH_WAIT_MS)
        await consumer.start()
        try:
            numbers = await partitions_of(self.settings, topic)
            partitions = [TopicPartition(topic, p) for p in numbers]
            # One consumer for the facts and their keys (``records.sealing``): one fetch each.
            consumer.assign(partitions + keyring.partitions(numbers))
            keyring.share(consumer)
            # Resuming, the keys from after the last one used; starting, the keys' end before
            # the log's: every fact after this node's start then has its key after the keys'
            # start.
            resume = bool(positions)
            await keyring.follow({p: keyring.positions.get(p) if resume else None for p in numbers})
            for tp in partitions:
                if tp.partition in positions:
                    consumer.seek(tp, positions[tp.partition])
                else:
                    await consumer.seek_to_end(tp)
                    positions[tp.partition] = await consumer.position(tp)
            started.set()
            while True:
                batches = await consumer.getmany(*partitions, timeout_ms=1000, max_records=1000)
                for tp, records in batches.items():
                    for record in records:
                        await self._hand_on(record)
                        positions[tp.partition] = record.offset + 1
                self._measure_lag(consumer, partitions)
        finally:
            await consumer.stop()

    async def _hand_on(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """One record of the log: to what this node knows, then to its sockets."""
        try:
            fact = await self.keyring.read(record.partition, record.value)
        except ValidationError as exc:
            log.error("skipping an unreadable fact: %s", exc)
            self.metrics.facts.labels(type="unreadable").inc()
            return
        if isinstance(fact, MessageSaved):
            age = time.time() - fact.saved_at.timestamp()
            self.metrics.message_age.observe(max(0.0, age))
        self.metrics.fact_read(fact.type).inc()
        self.seen.read(fact, record.partition, record.offset)
        await self.delivery.deliver(fact)

    def _measure_lag(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            end = consumer.last_stable_offset(tp) or consumer.highwater(tp)
            if end is not None:
                lag = max(0, end - self.seen.positions[tp.partition])
                self.metrics.log_lag.labels(partition=str(tp.partition)).set(lag)
