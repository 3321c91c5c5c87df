"""Keeping the MongoDB views in step with the event log, off the send path.

Workers share the event log's partitions in a consumer group of their own. Each batch of a
partition is applied with ``ViewWriter`` (idempotent, bulk for messages), then the partition's
position is recorded in MongoDB beside the views: on assignment the projector resumes from
there, so a crash re-applies at most one batch, harmlessly. Committed facts only.

MongoDB being away stalls the views, never the decisions or live delivery: the batch is
retried with backoff until it is written. A fact that MongoDB refuses for good (a document
past its size limit, say) is logged with its position and skipped after ``max_attempts``, so
one bad fact cannot stop a partition's views for ever.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.structs import ConsumerRecord, TopicPartition
from pydantic import ValidationError
from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure, PyMongoError

from agents.leaving import stop_and_leave
from agents.metrics import AgentsMetrics, PartitionLag
from agents.settings import Settings
from agents.stats import Period, PeriodicStats
from agents.view_writer import ViewWriter
from records.facts import Fact
from records.kafka import ensure_topics
from records.sealing import Keyring

log = logging.getLogger(__name__)

ROUND_RECORDS = 20_000
"""Most records of the event log applied in one round of view writes."""

LONGEST_PAUSE = 1.0
"""Seconds a pause between two rounds lasts at most, however long the last round took. A
round slowed by something else (a broker's failover holding the keys back, a starved
FerretDB) would otherwise be followed by as long a pause, then a bigger and slower round:
seen in a rolling restart, a 69 s round, a 69 s pause, and joins refused meanwhile because
the views could not fill what their sockets had missed."""

T = TypeVar("T")


class Projector(ConsumerRebalanceListener):  # type: ignore[misc]
    """The projection loop of one worker (see the module's docstring)."""

    def __init__(self, settings: Settings, metrics: AgentsMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or AgentsMetrics()
        self.projected = 0
        self.skipped = 0
        self._busy = asyncio.Lock()
        self._positions: dict[int, int] = {}
        """Partition → the next offset to apply, as recorded."""
        self._ready: set[int] = set()
        """Partitions whose position and keys are set up (``on_partitions_assigned``): a
        record of any other is not applied (it is fetched again after the seek)."""
        self._consumer: AIOKafkaConsumer | None = None
        self._keyring: Keyring | None = None
        self._writer: ViewWriter | None = None
        self._rounds = PeriodicStats(_log_rounds)
        """How many rounds of view writes, of how many records, and how much of the time
        they took: the figures that say whether the views keep up."""
        self._lag = PartitionLag(
            self.metrics.projection_lag, lambda: self._consumer, self._positions.get, markers=1
        )

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Project until cancelled."""
        await ensure_topics(self.settings)
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            self.settings.mongodb_uri, tz_aware=True
        )
        self._writer = writer = ViewWriter(client[self.settings.mongodb_database])
        await self._until_written(writer.create_indexes)
        self._keyring = keyring = Keyring(self.settings)
        await keyring.start()
        consumer = self._consumer = AIOKafkaConsumer(**self.settings.group_consumer("projector"))
        consumer.subscribe([self.settings.topics.events], listener=self)
        await consumer.start()
        if ready is not None:
            ready.set()
        ends = asyncio.create_task(self._lag.follow_ends())
        try:
            batches: dict[TopicPartition, list[ConsumerRecord]] = {}
            while True:
                if not batches:
                    batches = await consumer.getmany(timeout_ms=200, max_records=ROUND_RECORDS)
                    continue
                started = time.monotonic()
                async with self._busy:
                    for tp, records in batches.items():
                        await self._project(tp, records)
                # Rounds at most every ``projection_interval``, and a pause after each in
                # proportion to its length (``projection_share``): a busy group's page is
                # then rewritten once for many messages, not once for each (FerretDB rewrites
                # the whole document); the views trail the log by that much more.
                took = time.monotonic() - started
                self._rounds.add(took, sum(len(r) for r in batches.values()))
                share = self.settings.projection_share
                rest = max(self.settings.projection_interval - took, took * (1 / share - 1))
                rest = min(rest, LONGEST_PAUSE)
                batches = await self._collect(consumer, rest)
        finally:
            ends.cancel()
            await stop_and_leave(consumer)
            await keyring.stop()
            await client.close()

    async def _collect(
        self, consumer: AIOKafkaConsumer, seconds: float
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        """The next round's records: all that arrive in ``seconds``. The consumer holds one
        fetch a partition and fetches again only once that is taken, so a round of what one
        ``getmany`` after the pause returns is only what had come by the moment it ended:
        at 1,000 messages a second, rounds of a dozen records each, and the views 10,000
        facts behind the log when the load stopped."""
        batches: dict[TopicPartition, list[ConsumerRecord]] = {}
        held, deadline = 0, time.monotonic() + seconds
        while held < ROUND_RECORDS and (left := deadline - time.monotonic()) > 0:
            fetched = await consumer.getmany(
                timeout_ms=max(1, int(left * 1000)), max_records=ROUND_RECORDS - held
            )
            for tp, records in fetched.items():
                kept = batches.setdefault(tp, [])
                if kept:  # after a seek back (a partition assigned again), no offset twice
                    records = [r for r in records if r.offset > kept[-1].offset]
                kept.extend(records)
                held += len(records)
        return batches

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._busy:  # the batch in flight is written and its position recorded
            for tp in revoked:
                self._ready.discard(tp.partition)
                self._lag.released(tp)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        # Under the batch lock: a batch fetched meanwhile (records of a partition whose
        # keys are not followed yet) waits until the partitions are set up.
        async with self._busy:
            await self._set_up(assigned)

    async def _set_up(self, assigned: list[TopicPartition]) -> None:
        assert self._consumer is not None and self._writer is not None
        assert self._keyring is not None
        writer = self._writer
        writer.forget()
        positions, keys = await self._until_written(
            lambda: writer.positions_of(tp.partition for tp in assigned)
        )
        # The keys from where the bodies of the next facts are (from the start for views
        # recorded before bodies were sealed: keys passed are read and forgotten).
        await self._keyring.follow({tp.partition: keys.get(tp.partition, 0) for tp in assigned})
        for tp in assigned:
            # Records fetched before the seek below are dropped in ``_project`` (those of a
            # partition not set up yet too): the seek fetches them again.
            self._positions[tp.partition] = positions.get(tp.partition, 0)
            if tp.partition in positions:
                self._consumer.seek(tp, positions[tp.partition])
            else:
                await self._consumer.seek_to_beginning(tp)
            self._ready.add(tp.partition)
            self._lag.owned(tp)

    async def _project(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        assert self._writer is not None
        if tp.partition not in self._ready:
            return
        start = self._positions.get(tp.partition, 0)
        records = [record for record in records if record.offset >= start]
        if not records:
            return
        assert self._keyring is not None
        facts: list[Fact] = []
        for record in records:
            try:
                facts.append(await self._keyring.read(tp.partition, record.value))
            except ValidationError as exc:
                self.skipped += 1
                log.error("skipping unreadable fact at %s@%d: %s", tp, record.offset, exc)
        writer = self._writer
        try:
            await self._until_written(lambda: writer.apply(facts))
        except PyMongoError:
            await self._one_by_one(tp, facts)
        position, keys = records[-1].offset + 1, self._keyring.positions.get(tp.partition)
        await self._until_written(lambda: writer.record_position(tp.partition, position, keys))
        self._positions[tp.partition] = position
        self.projected += len(facts)
        self.metrics.projected.inc(len(facts))

    async def _one_by_one(self, tp: TopicPartition, facts: list[Fact]) -> None:
        """Find the fact MongoDB refuses for good; write every other one."""
        assert self._writer is not None
        writer = self._writer
        for fact in facts:
            try:
                await self._until_written(functools.partial(writer.apply, [fact]))
            except PyMongoError as exc:
                self.skipped += 1
                log.error(
                    "skipping %s of group %s in partition %d: MongoDB refuses it (%s)",
                    fact.type,
                    fact.group_id,
                    tp.partition,
                    exc,
                )

    async def _until_written(self, write: Callable[[], Awaitable[T]]) -> T:
        """Retry while MongoDB is unreachable or answers what the driver cannot read (for as
        long as it takes); retry other errors ``max_attempts`` times, then raise them."""
        delay, failures = 0.1, 0
        while True:
            try:
                return await write()
            except ConnectionFailure as exc:
                log.warning("MongoDB unreachable (%s); retrying in %.1fs", exc, delay)
            except PyMongoError as exc:
                failures += 1
                if failures >= self.settings.max_attempts:
                    raise
                log.warning("MongoDB write failed (%s); retrying in %.1fs", exc, delay)
            except (KeyError, TypeError, ValueError) as exc:
                # A reply the driver cannot read (seen from FerretDB while it restarts: a bulk
                # answer without ``nModified``): the server is not itself yet, like unreachable.
                log.warning("MongoDB gave an unreadable reply (%r); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.settings.retry_backoff_max)


def _log_rounds(period: Period) -> None:
    rounds = len(period.durations)
    log.info(
        "projected %d records in %d rounds (%.1f each); writing took %.0f%% of %.0fs",
        period.items,
        rounds,
        period.items / rounds,
        100 * sum(period.durations) / period.seconds,
        period.seconds,
    )
