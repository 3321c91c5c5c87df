"""Rebuilding every projection from the group-events log.

``python -m agents replay`` drops the views (``records.views.VIEWS``), reads the log's
committed facts from the first to the end it has when the replay starts, applies each with
the same ``ViewWriter`` the workers use, and records the positions it reached, so a worker
started afterwards projects on from there. Stop the agent workers first: a projector writing
while the views are rebuilt would have its writes dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError
from pymongo import AsyncMongoClient

from agents.settings import Settings
from agents.view_writer import ViewWriter
from records.facts import Fact
from records.kafka import committed_reader, partitions_of
from records.sealing import Keyring

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayReport:
    facts: int
    unreadable: int


async def replay(settings: Settings) -> ReplayReport:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        settings.mongodb_uri, tz_aware=True
    )
    consumer = committed_reader(settings, auto_offset_reset="earliest")
    keyring = Keyring(settings)
    await consumer.start()
    await keyring.start()
    try:
        writer = ViewWriter(client[settings.mongodb_database])
        await writer.drop()
        topic = settings.topics.events
        partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
        await keyring.follow({tp.partition: 0 for tp in partitions})
        return await _apply_log(consumer, keyring, writer, partitions)
    finally:
        await keyring.stop()
        await consumer.stop()
        await client.close()


async def _apply_log(
    consumer: AIOKafkaConsumer,
    keyring: Keyring,
    writer: ViewWriter,
    partitions: list[TopicPartition],
) -> ReplayReport:
    """Apply each partition's facts up to the end it had at the start, their bodies opened
    with the keys still there: a deleted message's are erased, so it comes back deleted."""
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    end = await consumer.end_offsets(partitions)
    remaining = {tp for tp in partitions if end[tp] > 0}
    facts = unreadable = 0
    while remaining:
        batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=2000)
        for tp, records in batches.items():
            batch: list[Fact] = []
            for record in records:
                if record.offset >= end[tp]:
                    break
                try:
                    batch.append(await keyring.read(tp.partition, record.value))
                except ValidationError as exc:
                    unreadable += 1
                    log.warning("skipping unreadable fact at %s@%d: %s", tp, record.offset, exc)
            await writer.apply(batch)
            facts += len(batch)
            if await consumer.position(tp) >= end[tp]:
                remaining.discard(tp)
    for tp in partitions:
        await writer.record_position(tp.partition, end[tp], keyring.positions.get(tp.partition))
    return ReplayReport(facts=facts, unreadable=unreadable)
