"""The Faust application: ``faust -A agents.app worker -l info``.

``persist_messages`` reads the incoming stream in batches, sets aside what it cannot read,
stores the rest and publishes a ``MessageSaved`` for each. A batch is acknowledged only after
its documents are written and its saved events delivered, so a crash at any point leads to
redelivery, which the store answers idempotently: nothing is lost, nothing is doubled.
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
from agents.settings import Settings
from agents.store import MessageStore
from records.events import MessageSaved, MessageSubmitted
from records.kafka import chat_topics

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[MessageStore]:
    """The message store for an agent's lifetime: client opened on entry, closed on exit."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    try:
        store = MessageStore(client[settings.mongodb_database])
        await store.ensure_indexes()
        yield store
    finally:
        await client.close()


async def save_until_stored(
    store: MessageStore, batch: list[MessageSubmitted], backoff_max: float
) -> list[MessageSaved]:
    """Retry the write until MongoDB answers; the batch stays unacknowledged meanwhile."""
    delay = 0.1
    while True:
        try:
            return await store.save(batch)
        except PyMongoError as exc:
            log.error("MongoDB write failed (%s); retrying in %.1fs", exc, delay)
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
    incoming, saved_topic, dead_letter = (
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
    stores: list[MessageStore] = []

    @app.on_partitions_revoked.connect
    async def forget_positions(
        sender: Any, /, *args: Any, signal: Any, **kwargs: Any
    ) -> None:
        for store in stores:
            store.forget_positions()

    async def set_aside(rejected: list[Rejected]) -> None:
        for record in rejected:
            log.warning("dead-lettering an unreadable incoming record: %s", record.reason)
            delivery = await dead_letter.send(
                value=record.raw, headers={"error": record.reason.encode()[:1024]}
            )
            await delivery

    async def publish(messages: list[MessageSaved]) -> None:
        deliveries = [
            await saved_topic.send(key=m.group_id.encode(), value=m.to_bytes()) for m in messages
        ]
        await asyncio.gather(*deliveries)

    @app.agent(incoming)
    async def persist_messages(records: faust.StreamT[bytes]) -> None:
        async with open_store(settings) as store:
            stores.append(store)
            try:
                async for values in records.take(settings.batch_size, within=settings.batch_window):
                    intake = sort_batch(list(values))
                    await set_aside(intake.rejected)
                    if intake.accepted:
                        saved = await save_until_stored(
                            store, intake.accepted, settings.retry_backoff_max
                        )
                        await publish(saved)
            finally:
                stores.remove(store)

    return app


app = create_app(Settings())  # type: ignore[call-arg]
