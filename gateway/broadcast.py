"""The event log, read by every gateway node in full, delivered to the node's own sockets.

Each node reads every partition of the group-events log (committed facts only, from the end
it finds at start) and delivers what concerns its sockets itself, through ``Delivery``: there
is no pub/sub hop between the log and a socket to lose a message on, and every node knows the
newest position of every group. Other nodes' sockets are served by those nodes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import socketio
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from gateway.delivery import ORDERED, Delivery, group_room, user_room
from gateway.metrics import GatewayMetrics
from gateway.settings import Settings
from records.facts import (
    Fact,
    GroupCreated,
    InvitationDeclined,
    InvitationRevoked,
    MemberInvited,
    MemberJoined,
    MemberLeft,
    MemberRemoved,
    MembershipFact,
    MessageDeleted,
    MessageEdited,
    MessageSaved,
    ReadMarked,
    read_fact,
)
from records.kafka import LIVE_FETCH_WAIT_MS, partitions_of
from records.sealing import Keyring
from records.views import change_document, change_to_client, message_to_client

log = logging.getLogger(__name__)


def client_event(fact: Fact) -> tuple[str, list[str], dict[str, Any]] | None:
    """The Socket.IO event a fact becomes: ``(event, rooms, payload)``, or None."""
    room = group_room(fact.group_id)

    def pick(*names: str, **renamed: str) -> dict[str, Any]:
        data = fact.model_dump(mode="json")  # not for messages: they have their own payload
        payload = {"group_id": fact.group_id, **{name: data[name] for name in names}}
        return payload | {new: data[old] for new, old in renamed.items()}

    match fact:
        case MessageSaved():
            return "message", [room], message_to_client(fact)
        case MessageEdited() | MessageDeleted():
            name, payload = change_to_client(change_document(fact))
            return name, [room], payload
        case MemberJoined() | MemberLeft():
            event = "member_joined" if isinstance(fact, MemberJoined) else "member_left"
            return event, [room], pick("user_id", "username")
        case MemberRemoved():
            return "member_removed", [room, user_room(fact.user_id)], pick(
                "user_id", "username", "by_id"
            )
        case MemberInvited():
            return "invited", [user_room(fact.user_id)], pick("by_id", "by", name="group_name")
        case ReadMarked():
            # To the group's other members (a read receipt) and the reader's other devices.
            rooms = [room, user_room(fact.user_id)]
            return "read", rooms, pick("user_id", "username", "seq")
        case InvitationDeclined():
            rooms = [room, user_room(fact.user_id)]  # the invitee's other devices too
            return "invitation_declined", rooms, pick("user_id", "username")
        case InvitationRevoked():
            rooms = [room, user_room(fact.user_id)]
            return "invitation_revoked", rooms, pick("user_id", "username", "by_id")
    return None  # GroupCreated: the creator's socket follows the group already


async def follow_log(
    settings: Settings,
    sio: socketio.AsyncServer,
    delivery: Delivery,
    started: asyncio.Event,
    metrics: GatewayMetrics,
) -> None:
    """Read the log until cancelled; a consumer that fails is replaced, resuming where it
    stopped, so this node misses nothing it has begun to read."""
    positions = delivery.log_positions
    keyring = Keyring(settings)  # shares the log's consumer (``_read_log``)
    while True:
        try:
            await _read_log(settings, sio, delivery, keyring, positions, started, metrics)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reading the event log failed; resuming in 1 s")
            await asyncio.sleep(1.0)


async def _read_log(
    settings: Settings,
    sio: socketio.AsyncServer,
    delivery: Delivery,
    keyring: Keyring,
    positions: dict[TopicPartition, int],
    started: asyncio.Event,
    metrics: GatewayMetrics,
) -> None:
    topic = settings.topics.events
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        fetch_max_wait_ms=LIVE_FETCH_WAIT_MS,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
        numbers = [tp.partition for tp in partitions]
        # One consumer for the facts and their keys (``records.sealing``): one fetch each.
        consumer.assign(partitions + keyring.partitions(numbers))
        keyring.share(consumer)
        # Resuming, the keys from after the last one used; starting, the keys' end before the
        # log's: every fact after this node's start then has its key after the keys' start.
        resume = bool(positions)
        await keyring.follow({p: keyring.positions.get(p) if resume else None for p in numbers})
        for tp in partitions:
            if tp in positions:
                consumer.seek(tp, positions[tp])
            else:
                await consumer.seek_to_end(tp)
                positions[tp] = await consumer.position(tp)
        started.set()
        while True:
            batches = await consumer.getmany(*partitions, timeout_ms=1000, max_records=1000)
            for tp, records in batches.items():
                for record in records:
                    await _deliver(sio, delivery, keyring, record, metrics)
                    positions[tp] = record.offset + 1
            for tp in partitions:
                end = consumer.last_stable_offset(tp) or consumer.highwater(tp)
                if end is not None:
                    metrics.log_lag.labels(partition=str(tp.partition)).set(
                        max(0, end - positions[tp])
                    )
    finally:
        await consumer.stop()


async def _deliver(
    sio: socketio.AsyncServer,
    delivery: Delivery,
    keyring: Keyring,
    record: ConsumerRecord[bytes, bytes],
    metrics: GatewayMetrics,
) -> None:
    partition = record.partition
    try:
        fact = read_fact(record.value or b"")
    except ValidationError as exc:
        log.error("skipping an unreadable fact: %s", exc)
        metrics.facts.labels(type="unreadable").inc()
        return
    if isinstance(fact, MessageSaved):
        metrics.message_age.observe(max(0.0, time.time() - fact.saved_at.timestamp()))
    fact = await keyring.open(partition, fact)
    delivery.gate.read_at(fact.group_id, partition, record.offset)
    metrics.fact_read(fact.type).inc()
    if isinstance(fact, MembershipFact):
        delivery.gate.saw(fact.group_id, "version", fact.version)
        user_id = fact.owner_id if isinstance(fact, GroupCreated) else fact.user_id
        delivery.gate.concerns(user_id, fact.group_id, fact.version)
        if isinstance(fact, MemberLeft | MemberRemoved):
            delivery.gate.departed(user_id, fact.group_id, fact.version)
        elif isinstance(fact, MemberJoined | GroupCreated):
            delivery.gate.returned(user_id, fact.group_id, fact.version)
    event = client_event(fact)
    if event is None:
        return
    name, rooms, payload = event
    try:
        if name in ORDERED:
            await delivery.ordered(fact.group_id, name, payload)
            if isinstance(fact, MessageSaved) and fact.mentions:
                # Wherever the mentioned are, even with the group not open on their page.
                mention = {"group_id": fact.group_id, "message_id": fact.message_id,
                           "by": fact.sender, "by_id": fact.sender_id}  # fmt: skip
                rooms = [user_room(user_id) for user_id in fact.mentions]
                await sio.emit("mentioned", mention, room=rooms, ignore_queue=True)
            return
        if isinstance(fact, MemberLeft | MemberRemoved):
            # Out of the room before anything else can be sent to it: the departing member's
            # sockets here get this event (in their own room) and nothing after it.
            await delivery.leave(fact.group_id, fact.user_id)
        await sio.emit(name, payload, room=rooms, ignore_queue=True)
    except Exception:
        # A socket that cannot be written to is dropped by Socket.IO; the fact is in the log
        # and the views, and the client recovers it with join + since_seq.
        log.exception("could not deliver %s of group %s", name, fact.group_id)
