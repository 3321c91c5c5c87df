"""Deciding the requests stream into facts, exactly once, with Kafka transactions.

For each partition of the requests topic the worker owns:

1. it starts a transactional producer whose id names the partition (``agents.transactions``).
   Starting it fences any earlier holder of that id (a worker that was killed, or paused past
   its session and still running: a zombie) and aborts its open transaction, so from here on
   only this worker can add to the partition's facts;
2. it reads the committed offset of the requests partition and folds the same partition of the
   event log (read-committed, to its end) into the decision state (``agents.fold``);
3. it decides each batch of requests against that state (``agents.batches``) and writes, in ONE
   transaction, the facts to the event log, the answers to the replies topic, unreadable
   records to the dead-letter topic, and the offset of the next request.

A crash anywhere aborts the open transaction: the facts, the answers and the offset are
committed together or not at all. The next owner redoes the fold and re-decides the same
requests against the same state, so nothing acknowledged is lost and nothing is doubled.
Readers of the log (projector, gateways, the fold) read committed records only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition

from agents.batches import Outcome, decide_batch
from agents.fold import fold_partition
from agents.intake import Rejected
from agents.leaving import stop_and_leave
from agents.metrics import AgentsMetrics, PartitionLag
from agents.settings import Settings
from agents.snapshots import Snapshots
from agents.state import PartitionState
from agents.stats import Period, PeriodicStats
from agents.transactions import (
    NEXT_TRANSACTION_RETRY,
    PartitionProducer,
    is_transient,
    retry_concurrent_transactions_after,
)
from records.kafka import LIVE_FETCH_WAIT_MS, ensure_topics, partitions_of
from records.operations import REQUEST_ID_HEADER, under_request_id
from records.requests import RequestAnswered

log = logging.getLogger(__name__)


TRANSIENT_BACKOFF_MAX = 0.5
"""Longest wait between two tries of a batch while Kafka is unavailable: a broker's failover
ends when its session lapses (seconds), and a try costs a metadata request, so the batch goes
within half a second of the new leader, not after a backoff grown to ``retry_backoff_max``."""


@dataclass
class Owned:
    """A requests partition this worker owns, and what deciding it needs."""

    partition: int
    producer: PartitionProducer | None = None
    state: PartitionState | None = None
    failures: int = 0
    """Failed commits in a row that may be the batch's own fault (not Kafka being away)."""
    retries: int = 0
    """Failed commits in a row of any kind: how long to wait before the next."""
    unsnapshotted: int = 0
    """Facts folded since the state was last snapshotted."""
    pending: list[ConsumerRecord] = field(default_factory=list)
    """Requests fetched and not yet decided, in offset order."""
    next_offset: int | None = None
    """The offset the next request must have at least: records fetched before the loader
    moved the position back to the committed offset are dropped, not decided twice."""
    decided_to: int | None = None
    """The offset after the last request committed (its lag is counted from here)."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while the partition is loaded or a batch is decided and committed."""
    task: asyncio.Task[None] | None = None

    def offer(self, records: list[ConsumerRecord]) -> None:
        for record in records:
            if self.next_offset is None or record.offset >= self.next_offset:
                self.pending.append(record)
                self.next_offset = record.offset + 1
        if self.pending:
            self.wake.set()


class Decider(ConsumerRebalanceListener):  # type: ignore[misc]
    """The decide loop of one worker (see the module's docstring)."""

    def __init__(self, settings: Settings, metrics: AgentsMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or AgentsMetrics()
        self.topics = settings.topics
        self.group_id = f"{settings.app_id}-decider"  # also names the transactions' offsets
        self.owned: dict[int, Owned] = {}
        self.snapshots = Snapshots(settings, settings.dedupe_window)
        self.stats = PeriodicStats(_log_commits)
        """How long transactions take and how much each carries: the figures that say
        whether the broker or the worker is the bottleneck."""
        self._commits = asyncio.Semaphore(settings.commits_in_flight)
        """Taken by a partition's loop before it picks its batch (see ``commits_in_flight``)."""
        self._consumer: AIOKafkaConsumer | None = None
        self._lag = PartitionLag(self.metrics.request_lag, lambda: self._consumer, self._decided_to)
        retry_concurrent_transactions_after(NEXT_TRANSACTION_RETRY)

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Decide until cancelled: fetch the requests of every partition owned and hand each
        its records; the partitions' own loops decide them."""
        await ensure_topics(self.settings)
        await self._check_copartitioned()
        consumer = self._consumer = AIOKafkaConsumer(
            **self.settings.group_consumer("decider"), fetch_max_wait_ms=LIVE_FETCH_WAIT_MS
        )
        consumer.subscribe([self.topics.requests], listener=self)
        await self.snapshots.start()
        await consumer.start()
        if ready is not None:
            ready.set()
        ends = asyncio.create_task(self._lag.follow_ends())
        try:
            while True:
                batches = await consumer.getmany(
                    timeout_ms=200, max_records=self.settings.batch_size
                )
                for tp, records in batches.items():
                    owned = self.owned.get(tp.partition)
                    if owned is None:
                        continue
                    owned.offer(records)
                    if len(owned.pending) >= 4 * self.settings.batch_size:
                        consumer.pause(tp)  # resumed by the partition's loop as it catches up
        finally:
            ends.cancel()
            for partition in list(self.owned):
                await self._release(partition)
            await stop_and_leave(consumer)
            await self.snapshots.stop()

    async def _check_copartitioned(self) -> None:
        requests = await partitions_of(self.settings, self.topics.requests)
        events = await partitions_of(self.settings, self.topics.events)
        if requests != events:
            raise RuntimeError(
                f"{self.topics.requests} has {len(requests)} partitions and {self.topics.events} "
                f"{len(events)}: they must be co-partitioned (same count, keyed by group)"
            )

    # --- rebalancing --------------------------------------------------------------------

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        """Wait for each partition's batch in flight, then let the partitions go."""
        for tp in revoked:
            await self._release(tp.partition)
            self._lag.released(tp)
        if revoked:
            log.info("released partitions %s", sorted(tp.partition for tp in revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Each partition gets a loop of its own, which loads it at once."""
        for tp in assigned:
            if tp.partition not in self.owned:
                owned = self.owned[tp.partition] = Owned(tp.partition)
                owned.task = asyncio.create_task(self._decide_partition(tp, owned))
                owned.wake.set()
                self._lag.owned(tp)
        if assigned:
            log.info("assigned partitions %s", sorted(tp.partition for tp in assigned))

    def _decided_to(self, partition: int) -> int | None:
        owned = self.owned.get(partition)
        return owned.decided_to if owned is not None else None

    async def _release(self, partition: int) -> None:
        owned = self.owned.pop(partition, None)
        if owned is None:
            return
        async with owned.lock:
            if owned.task is not None:
                owned.task.cancel()
            await _stop(owned)

    # --- a partition's loop -------------------------------------------------------------

    async def _decide_partition(self, tp: TopicPartition, owned: Owned) -> None:
        """Load the partition, then decide its requests as they come, a batch at a time: a
        partition waits for its own commits only, never for another's."""
        size = self.settings.batch_size
        while True:
            await owned.wake.wait()
            owned.wake.clear()
            while owned.state is None or owned.pending:
                async with owned.lock:
                    if owned.state is None:
                        await self._load(tp, owned)
                    else:
                        await self._decide_next(tp, owned)
                consumer = self._consumer
                if consumer is not None and len(owned.pending) < size and tp in consumer.paused():
                    consumer.resume(tp)

    async def _load(self, tp: TopicPartition, owned: Owned) -> None:
        """Take the partition over (steps 1 and 2); on failure, start again in a second."""
        try:
            await self._take_over(tp, owned)
        except Exception:
            log.exception("could not load partition %d; retrying", tp.partition)
            await self._reset(owned)
            await asyncio.sleep(1.0)

    async def _decide_next(self, tp: TopicPartition, owned: Owned) -> None:
        """Decide and commit the partition's next batch (step 3); on failure, back off and
        leave the batch pending, to be decided again from a fresh fold."""
        attempts = self.settings.max_attempts
        try:
            async with self._commits:
                # After repeated failures, one request at a time, to find the one that cannot
                # be committed; after twice as many, it is set aside. The batch is picked once
                # the turn comes: what arrived while other partitions committed goes in it.
                size = 1 if owned.failures >= attempts else self.settings.batch_size
                records = owned.pending[:size]
                if owned.failures >= 2 * attempts:
                    await self._set_aside(tp, owned, records[0])
                else:
                    await self._commit(tp, owned, records)
            owned.failures = owned.retries = 0
            del owned.pending[: len(records)]
        except Exception as exc:
            owned.retries += 1
            transient = is_transient(exc)
            # Kafka away or busy says nothing about the requests: they are tried again for as
            # long as it takes, never set aside (an acknowledged send must not be).
            if not transient:
                owned.failures += 1
            log.exception(
                "could not commit a batch of partition %d (attempt %d, %s)",
                tp.partition,
                owned.retries,
                "Kafka unavailable" if transient else f"{owned.failures} counted",
            )
            await self._reset(owned)
            longest = TRANSIENT_BACKOFF_MAX if transient else self.settings.retry_backoff_max
            await asyncio.sleep(min(0.1 * 2**owned.retries, longest))

    # --- the three steps ----------------------------------------------------------------

    async def _take_over(self, tp: TopicPartition, owned: Owned) -> None:
        """Fence the partition's previous owner, fold its log, and move to its first request
        not yet decided."""
        assert self._consumer is not None
        started = time.monotonic()
        if owned.producer is None:
            producer = PartitionProducer(self.settings, tp, self.group_id)
            await producer.start()  # fences the partition's previous owner
            owned.producer = producer
        committed = await self._consumer.committed(tp)
        snapshot = await self.snapshots.latest(tp.partition)
        state, covered = await fold_partition(self.settings, tp.partition, snapshot)
        owned.state, owned.unsnapshotted = state, state.folded
        if state.folded >= self.settings.snapshot_every:
            await self._snapshot(owned, covered)
        owned.pending.clear()
        owned.next_offset = committed
        if committed is None:
            await self._consumer.seek_to_beginning(tp)
        else:
            self._consumer.seek(tp, committed)
        # Where deciding starts: the earliest request kept, when none was ever committed.
        owned.decided_to = await self._consumer.position(tp)
        log.info(
            "partition %d ready in %.2fs: %s, %d facts folded (%d groups), requests from offset %s",
            tp.partition,
            time.monotonic() - started,
            f"snapshot at {snapshot[1]}" if snapshot else "no snapshot",
            owned.state.folded,
            len(owned.state.groups),
            committed if committed is not None else "0",
        )

    async def _commit(
        self, tp: TopicPartition, owned: Owned, records: list[ConsumerRecord]
    ) -> None:
        """Decide a batch against the partition's state and commit what it produced."""
        assert owned.producer is not None and owned.state is not None
        if log.isEnabledFor(logging.DEBUG):
            for record in records:
                _log_with_request_id(record, "deciding the request at %s:%d", tp, record.offset)
        outcome = decide_batch(owned.state, [r.value for r in records])
        started = time.monotonic()
        covered = await owned.producer.publish(outcome, records[-1].offset + 1)
        for answered in outcome.answers:
            _log_answer(answered)
        self.stats.add(time.monotonic() - started, len(records))
        self.metrics.commit_seconds.observe(time.monotonic() - started)
        self.metrics.decided.inc(len(records))
        self.metrics.facts.inc(len(outcome.facts))
        self.metrics.dead_letters.inc(len(outcome.rejected))
        owned.decided_to = records[-1].offset + 1
        owned.unsnapshotted += len(outcome.facts)
        if owned.unsnapshotted >= self.settings.snapshot_every and covered is not None:
            await self._snapshot(owned, covered)

    async def _set_aside(self, tp: TopicPartition, owned: Owned, record: ConsumerRecord) -> None:
        """A request whose outcome could never be committed goes to the dead letters, with
        the reason, instead of stalling its partition."""
        assert owned.producer is not None
        log.error("setting aside request at %s:%d after repeated failures", tp, record.offset)
        reason = f"could not be committed after {owned.failures} attempts"
        outcome = Outcome(rejected=[Rejected(raw=bytes(record.value or b""), reason=reason)])
        await owned.producer.publish(outcome, record.offset + 1)
        owned.decided_to = record.offset + 1
        self.metrics.dead_letters.inc()

    async def _snapshot(self, owned: Owned, covered: int) -> None:
        """Save the committed state; a failure only means a longer fold next time."""
        assert owned.state is not None
        try:
            await self.snapshots.save(owned.state, covered)
            owned.unsnapshotted = 0
        except (KafkaError, OSError) as exc:
            log.warning("could not save a snapshot of partition %d: %r", owned.partition, exc)

    async def _reset(self, owned: Owned) -> None:
        """Forget the partition's state and producer: the next batch reloads both, so what
        was folded for an uncommitted transaction is never decided from."""
        owned.state = None
        await _stop(owned)


def _log_commits(period: Period) -> None:
    durations = sorted(period.durations)
    p50, p99 = durations[len(durations) // 2], durations[int(len(durations) * 0.99)]
    log.info(
        "decided %d requests in %d transactions (%.1f each); commit p50 %.1f ms, p99 %.1f ms",
        period.items,
        len(durations),
        period.items / len(durations),
        p50 * 1000,
        p99 * 1000,
    )


def _log_with_request_id(record: ConsumerRecord, message: str, *args: Any) -> None:
    """A debug line under the id the gateway gave the request (its Kafka header)."""
    headers = dict(record.headers or ())
    with under_request_id(headers.get(REQUEST_ID_HEADER, b"").decode() or None):
        log.debug(message, *args)


def _log_answer(answered: RequestAnswered) -> None:
    """One line per answered request (accepted sends need no answer, so none for them), under
    its request id: the gateway's lines about it carry the same."""
    outcome = "accepted" if answered.ok else f"refused ({answered.code})"
    with under_request_id(answered.request_id):
        log.info("%s of group %s %s", answered.request_type, answered.group_id, outcome)


async def _stop(owned: Owned) -> None:
    producer, owned.producer = owned.producer, None
    if producer is not None:
        await producer.stop()
