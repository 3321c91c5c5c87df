"""The Kafka transactions of the decider: one transactional producer per requests partition,
and each batch's outcome committed in one transaction with the requests' offset.

The producer's id names the partition, so starting it fences any earlier holder of the id (a
killed worker, or a zombie whose partition moved on) and aborts its open transaction. A
transaction holds the keys of the sealed bodies, the facts, the answers, the dead letters
and the offset of the next request: all of them are committed, or none.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    ConcurrentTransactions,
    KafkaError,
    KafkaTimeoutError,
    ProducerFenced,
)
from aiokafka.producer import sender as aiokafka_sender
from aiokafka.structs import TopicPartition

from agents.batches import Outcome
from agents.settings import Settings
from records.kafka import BATCH_BYTES
from records.sealing import KEY_NO_HEADER

log = logging.getLogger(__name__)

TRANSACTION_RETRY_MS = 10

NEXT_TRANSACTION_RETRY = 0.002
"""Seconds before a transaction's first partitions are added again after "concurrent
transactions": the coordinator answers so from a commit until its markers are written, a
millisecond or two on one broker, and the next transaction of a busy partition starts at once."""


def retry_concurrent_transactions_after(seconds: float) -> None:
    """aiokafka waits a fixed 20 ms (``BACKOFF_OVERRIDE``) before adding the first partitions
    of a transaction again after "concurrent transactions", where Kafka's Java producer waits
    the least of that and its ``retry.backoff.ms``. Every transaction that closely follows
    another paid it: on one idle broker a commit cycle took 28-35 ms, 12-16 ms with 2 ms."""
    aiokafka_sender.BACKOFF_OVERRIDE = min(aiokafka_sender.BACKOFF_OVERRIDE, seconds)


def is_transient(exc: BaseException) -> bool:
    """A commit failure that is Kafka's state, not the batch's: unreachable, timed out,
    retriable by its own account, fenced by the partition's next owner, or a transaction
    still closing. Only other failures count toward setting a request aside."""
    if isinstance(exc, KafkaError):
        return bool(exc.retriable) or isinstance(
            exc, KafkaTimeoutError | ProducerFenced | ConcurrentTransactions
        )
    return isinstance(exc, OSError | TimeoutError)


class PartitionProducer:
    """The transactional producer of one requests partition, and of the same partition of the
    event log and the keys: the only writer of that partition's facts once started."""

    def __init__(self, settings: Settings, tp: TopicPartition, group_id: str) -> None:
        self.tp = tp
        self.topics = settings.topics
        self.group_id = group_id
        """The consumer group whose offset of ``tp`` each transaction commits."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            transactional_id=f"{settings.app_id}-decider-{tp.partition}",
            enable_idempotence=True,
            acks="all",
            linger_ms=0,
            # The coordinator answers "concurrent transactions" for a moment after each
            # commit, while it writes the markers; the default 100 ms before retrying was
            # the commits' p99 (and aiokafka's own 20 ms for a transaction's first
            # partitions, lowered by ``retry_concurrent_transactions_after``, their p50).
            retry_backoff_ms=TRANSACTION_RETRY_MS,
            max_batch_size=BATCH_BYTES,  # a transaction's records in one batch a partition
        )

    async def start(self) -> None:
        """Fences the partition's previous owner and aborts its open transaction."""
        await self._producer.start()

    async def stop(self) -> None:
        try:
            await self._producer.stop()
        except (KafkaError, OSError):
            log.warning("producer of partition %d did not stop cleanly", self.tp.partition)

    async def publish(self, outcome: Outcome, next_offset: int) -> int | None:
        """Commit the outcome and the requests' offset; returns the offset of the event log
        after the last fact, if there was one."""
        producer, partition = self._producer, self.tp.partition
        async with producer.transaction():
            sent = [
                await producer.send(
                    self.topics.keys,
                    value=k.key,
                    key=k.key_id.encode(),
                    partition=partition,
                    headers=[(KEY_NO_HEADER, str(k.key_no).encode())],
                )
                for k in outcome.keys
            ]
            facts_from = len(sent)
            sent += [
                await producer.send(
                    self.topics.events,
                    value=fact.to_bytes(),
                    key=fact.group_id.encode(),
                    partition=partition,
                )
                for fact in outcome.facts
            ]
            sent += [
                await producer.send(self.topics.replies, value=a.to_bytes(), key=a.origin.encode())
                for a in outcome.answers
            ]
            sent += [
                await producer.send(
                    self.topics.dead_letter,
                    value=r.raw,
                    headers=[("error", r.reason.encode()[:1024])],
                )
                for r in outcome.rejected
            ]
            # The offsets go to their coordinator while the records are on their way.
            written, _ = await asyncio.gather(
                asyncio.gather(*sent),
                producer.send_offsets_to_transaction({self.tp: next_offset}, self.group_id),
            )
        for rejected in outcome.rejected:
            log.warning("dead-lettered an incoming record: %s", rejected.reason)
        return written[facts_from + len(outcome.facts) - 1].offset + 1 if outcome.facts else None
