"""Fan-out of the group-events log: Kafka in, Socket.IO rooms out.

All gateway nodes read the log in one consumer group, so each fact is taken by exactly one
node; that node emits it through the Redis manager, which delivers it to the group's room on
every node (see ``gateway.delivery`` for what each node does as it delivers).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio
from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from gateway.delivery import group_room
from gateway.settings import Settings
from records.events import (
    Fact,
    MemberInvited,
    MemberJoined,
    MemberLeft,
    MemberRemoved,
    MessageDeleted,
    MessageEdited,
    MessageSaved,
    read_fact,
)

log = logging.getLogger(__name__)


def client_event(fact: Fact) -> tuple[str, str, dict[str, Any]] | None:
    """The Socket.IO event a fact becomes: ``(event, room, payload)``, or None."""
    room = group_room(fact.group_id)
    data = fact.model_dump(mode="json")

    def pick(*names: str, **renamed: str) -> dict[str, Any]:
        payload = {"group_id": fact.group_id, **{name: data[name] for name in names}}
        return payload | {new: data[old] for new, old in renamed.items()}

    match fact:
        case MessageSaved():
            return "message", room, fact.to_client()
        case MessageEdited():
            return (
                "message_edited",
                room,
                pick("message_id", "seq", "body", "change", edited_at="occurred_at"),
            )
        case MessageDeleted():
            deleted = pick("message_id", "seq", "change", deleted_at="occurred_at")
            return "message_deleted", room, deleted
        case MemberJoined() | MemberLeft():
            event = "member_joined" if isinstance(fact, MemberJoined) else "member_left"
            return event, room, pick("user_id", "username")
        case MemberRemoved():
            return "member_removed", room, pick("user_id", "username", "by_id")
        case MemberInvited():
            return "invited", f"user:{fact.user_id}", pick("by_id", "by", name="group_name")
    return None  # GroupCreated: the creator's socket follows the group already


async def broadcast_facts(
    settings: Settings, sio: socketio.AsyncServer, started: asyncio.Event | None = None
) -> None:
    """Consume the log until cancelled, emitting each fact to its room."""
    consumer = AIOKafkaConsumer(
        settings.topics.events,
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
        fact = read_fact(raw or b"")
    except ValidationError as exc:
        log.error("skipping an unreadable fact: %s", exc)
        return
    event = client_event(fact)
    if event is None:
        return
    name, room, payload = event
    try:
        await sio.emit(name, payload, room=room)
    except Exception:
        # Live delivery is best effort; the fact is stored and clients recover it.
        log.exception("could not broadcast %s of group %s", name, fact.group_id)
