"""Fan-out of saved messages: Kafka's saved topic in, Socket.IO rooms out.

All gateway nodes read the saved topic in one consumer group, so each message is taken by
exactly one node; that node emits through the Redis manager, which delivers it to the
group's room on every node.
"""

from __future__ import annotations

import asyncio
import logging

import socketio
from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from gateway.settings import Settings
from gateway.sockets import group_room
from records.events import MessageSaved

log = logging.getLogger(__name__)


async def broadcast_saved(
    settings: Settings, sio: socketio.AsyncServer, started: asyncio.Event | None = None
) -> None:
    """Consume saved messages until cancelled, emitting each to its group's room."""
    consumer = AIOKafkaConsumer(
        settings.topics.saved,
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.consumer_group,
        auto_offset_reset="latest",
        enable_auto_commit=True,
    )
    await consumer.start()
    try:
        if started is not None:
            await _wait_for_assignment(consumer)
            started.set()
        async for record in consumer:
            await _emit(sio, record.value)
    finally:
        await consumer.stop()


async def _wait_for_assignment(consumer: AIOKafkaConsumer) -> None:
    """Wait until the group has given this node partitions (or another node has them)."""
    for _ in range(200):
        if consumer.assignment():
            return
        await asyncio.sleep(0.05)


async def _emit(sio: socketio.AsyncServer, raw: bytes | None) -> None:
    try:
        message = MessageSaved.model_validate_json(raw or b"")
    except ValidationError as exc:
        log.error("skipping an unreadable saved record: %s", exc)
        return
    try:
        await sio.emit("message", message.to_client(), room=group_room(message.group_id))
    except Exception:
        # Live delivery is best effort; the message is stored and clients can recover it.
        log.exception("could not broadcast message %s", message.message_id)
