"""The Faust application: ``faust -A agents.app worker -l info``.

``process_requests`` reads the incoming stream in batches, sets aside what it cannot read,
decides the rest into facts, projects them into MongoDB, and publishes the facts to the
group-events log and the answers to the replies topic. A batch is acknowledged only after
all of that is done, so a crash at any point leads to redelivery, which the processor answers
idempotently: nothing is lost, nothing is doubled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import faust
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from agents.intake import Rejected, sort_batch
from agents.processor import Outcome, Processor
from agents.settings import Settings
from records.kafka import chat_topics
from records.requests import AnyRequest

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_processor(settings: Settings) -> AsyncIterator[Processor]:
    """The processor for an agent's lifetime: MongoDB opened on entry, closed on exit."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    try:
        processor = Processor(client[settings.mongodb_database])
        await processor.start()
        yield processor
    finally:
        await client.close()


async def process_until_stored(
    processor: Processor, batch: list[AnyRequest], backoff_max: float
) -> Outcome:
    """Retry until MongoDB answers; the batch stays unacknowledged meanwhile. Retrying is
    safe: what was written before the failure is found again, not written twice."""
    delay = 0.1
    while True:
        try:
            return await processor.process(batch)
        except PyMongoError as exc:
            log.error("MongoDB write failed (%s); retrying in %.1fs", exc, delay)
            processor.forget()
            await asyncio.sleep(delay)
            delay = min(delay * 2, backoff_max)


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=settings.faust_broker,
        store="memory://",
        topic_partitions=settings.topic_partitions,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 3),
    )
    # internal=True makes Faust create the topics (partitions, retention) before subscribing.
    incoming, events, replies, dead_letter = (
        app.topic(
            spec.name,
            partitions=spec.partitions,
            config=spec.config,
            internal=True,
            value_type=bytes,
            value_serializer="raw",
            key_serializer="raw",
        )
        for spec in chat_topics(settings)
    )
    processors: list[Processor] = []

    @app.on_partitions_revoked.connect
    async def forget_groups(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        for processor in processors:
            processor.forget()

    async def set_aside(rejected: list[Rejected]) -> None:
        for record in rejected:
            log.warning("dead-lettering an unreadable incoming record: %s", record.reason)
            delivery = await dead_letter.send(
                value=record.raw, headers={"error": record.reason.encode()[:1024]}
            )
            await delivery

    async def publish(outcome: Outcome) -> None:
        deliveries = [
            await events.send(key=fact.group_id.encode(), value=fact.to_bytes())
            for fact in outcome.facts
        ]
        deliveries += [
            await replies.send(key=answer.origin.encode(), value=answer.to_bytes())
            for answer in outcome.answers
        ]
        await asyncio.gather(*deliveries)

    @app.agent(incoming)
    async def process_requests(records: faust.StreamT[bytes]) -> None:
        async with open_processor(settings) as processor:
            processors.append(processor)
            try:
                async for values in records.take(settings.batch_size, within=settings.batch_window):
                    intake = sort_batch(list(values))
                    await set_aside(intake.rejected)
                    if intake.accepted:
                        outcome = await process_until_stored(
                            processor, intake.accepted, settings.retry_backoff_max
                        )
                        await publish(outcome)
            finally:
                processors.remove(processor)

    return app


app = create_app(Settings())  # type: ignore[call-arg]
