"""The index's reader of the event log: every partition, committed facts only, each round
applied to the index with the position it reaches (``MessageIndex.apply``).

It resumes from the positions the index holds (the log's start for a partition it has none
of), reading the keys alongside with the same consumer (``records.sealing.Keyring``, as
``gateway.log_reader``), so a body whose key is gone is indexed as nothing. A fetch parked at
the broker returns the moment a transaction commits (``LIVE_FETCH_WAIT_MS``): a message is
findable a round after it is acknowledged. Kafka or the index failing: the consumer is
replaced after a second, resuming from the index. Unreadable records are skipped, logged and
counted. The index's purge of deleted words (``MessageIndex.purge``) runs here, between
rounds, once it is due.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from records.facts import Fact, MessageSaved
from records.kafka import LIVE_FETCH_WAIT_MS, committed_reader, ensure_topics, partitions_of
from records.sealing import Keyring
from search.index import MessageIndex
from search.metrics import SearchMetrics
from search.settings import Settings

log = logging.getLogger(__name__)

ROUND_RECORDS = 5000
"""Most records applied in one transaction; what came while the last one was written is
the next one (at 1,000 messages a second, rounds of a few dozen)."""

Batches = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


class Follower:
    def __init__(
        self, settings: Settings, index: MessageIndex, metrics: SearchMetrics | None = None
    ) -> None:
        self.settings = settings
        self.index = index
        self.metrics = metrics or SearchMetrics()
        self.keyring = Keyring(settings)  # shares the log's consumer (``_read``)
        self.applied = 0
        """Facts applied to the index by this follower (a restart resumes: few, not all)."""
        self.unreadable = 0
        self.caught_up = asyncio.Event()
        """Set once the index holds the log up to where it ended when the follower began."""
        self._owed: float | None = None
        self.metrics.purge_owed.set_function(
            lambda: time.time() - self._owed if self._owed is not None else 0.0
        )

    async def follow(self, *, until_caught_up: bool = False) -> None:
        """Read the log into the index until cancelled (or, ``until_caught_up``, until the
        index holds it up to where it ended when this began)."""
        while True:
            try:
                await self._read(until_caught_up)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following the event log failed; resuming in 1 s")
                await asyncio.sleep(1.0)

    async def _read(self, until_caught_up: bool) -> None:
        # As the gateway and the agents do: whichever service starts first creates the topics
        # as declared (asking a broker about a topic it lacks may create it, its way).
        await ensure_topics(self.settings)
        consumer = committed_reader(
            self.settings, fetch_max_wait_ms=LIVE_FETCH_WAIT_MS, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            partitions, ends = await self._resume(consumer)
            while True:
                if not self.caught_up.is_set() and await _reached(consumer, ends):
                    log.info("the index holds the event log up to where it ended at start")
                    self.caught_up.set()
                if until_caught_up and self.caught_up.is_set():
                    return
                batches = await consumer.getmany(
                    *partitions, timeout_ms=1000, max_records=ROUND_RECORDS
                )
                if batches:
                    await self._apply(batches)
                await self._measure_lag(consumer, partitions)
                await self._purge_if_due()
        finally:
            await consumer.stop()

    async def _resume(
        self, consumer: AIOKafkaConsumer
    ) -> tuple[list[TopicPartition], dict[TopicPartition, int]]:
        """Point the consumer at where the index is (the log's start where it has nothing),
        for every partition of the log and of its keys; the partitions, and their ends now."""
        topic, keyring = self.settings.topics.events, self.keyring
        numbers = await partitions_of(self.settings, topic)
        partitions = [TopicPartition(topic, p) for p in numbers]
        # One consumer for the facts and their keys (``records.sealing``): one fetch each.
        consumer.assign(partitions + keyring.partitions(numbers))
        keyring.share(consumer)
        positions, keys = await asyncio.to_thread(self.index.positions)
        self._owed = await asyncio.to_thread(self.index.purge_owed_since)
        # The keys from after the last one used (from the start where none was).
        await keyring.follow({p: keys.get(p, 0) for p in numbers})
        for tp in partitions:
            if tp.partition in positions:
                consumer.seek(tp, positions[tp.partition])
            else:
                await consumer.seek_to_beginning(tp)
        return partitions, await consumer.end_offsets(partitions)

    async def _apply(self, batches: Batches) -> None:
        facts: list[Fact] = []
        positions: dict[int, int] = {}
        for tp, records in batches.items():
            if not records:
                continue
            for record in records:
                try:
                    facts.append(await self.keyring.read(tp.partition, record.value))
                except ValidationError as exc:
                    self.unreadable += 1
                    self.metrics.facts.labels(type="unreadable").inc()
                    log.error("skipping an unreadable fact at %s@%d: %s", tp, record.offset, exc)
            positions[tp.partition] = records[-1].offset + 1
        started = time.monotonic()
        applied = await asyncio.to_thread(
            self.index.apply, facts, positions, dict(self.keyring.positions)
        )
        now = time.time()
        self.metrics.round_seconds.observe(time.monotonic() - started)
        self.applied += len(facts)
        for fact in facts:
            self.metrics.facts.labels(type=fact.type).inc()
            if isinstance(fact, MessageSaved):
                self.metrics.index_delay.observe(max(0.0, now - fact.saved_at.timestamp()))
        for change, count in asdict(applied).items():
            self.metrics.messages.labels(change=change).inc(count)
        if applied.deleted and self._owed is None:
            self._owed = now

    async def _purge_if_due(self) -> None:
        owed = self._owed
        if owed is None or time.time() - owed < self.settings.purge_every_hours * 3600:
            return
        started = time.monotonic()
        if await asyncio.to_thread(self.index.purge):
            self._owed = None
            self.metrics.purges.inc()
            log.info("purged deleted words from the index in %.1f s", time.monotonic() - started)
        else:
            log.warning("the purge could not empty the WAL (searches reading); trying again")

    async def _measure_lag(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
    ) -> None:
        for tp in partitions:
            end = consumer.last_stable_offset(tp) or consumer.highwater(tp)
            if end is not None:
                lag = max(0, end - await consumer.position(tp))
                self.metrics.log_lag.labels(partition=str(tp.partition)).set(lag)


async def _reached(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True
