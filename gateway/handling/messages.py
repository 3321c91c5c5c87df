"""Handlers of messages: ``send``, ``edit``, ``delete``, ``react``, ``history`` and ``read``, and
the word to a sender whose acknowledged message the agents refused.

``send`` and ``read`` are acknowledged once Kafka has the request; ``edit``, ``delete`` and
``react`` once the agents have answered; ``history`` reads the views.
"""

from __future__ import annotations

from typing import Any

import socketio

from gateway import client_events
from gateway.commands import (
    CommandError,
    DeleteCommand,
    EditCommand,
    HistoryCommand,
    ReactCommand,
    ReadCommand,
    SendCommand,
    check_body,
    check_emoji,
    parse,
)
from gateway.handling.direct import refuse_if_blocked
from gateway.handling.namespace import ChatNamespace, Reply, handles
from gateway.metrics import GatewayMetrics
from gateway.rooms import NAMESPACE
from records.base import split_message_id
from records.requests import (
    DeleteMessage,
    EditMessage,
    MarkRead,
    RequestAnswered,
    SendMessage,
    ToggleReaction,
)


@handles("send", bucket="send")
async def send(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    command = parse(SendCommand, data)
    check_body(command.body)
    ns.delivery.lag.admit()  # past capacity: refused at once, not queued behind the others
    if command.reply_to is not None and split_message_id(command.reply_to)[0] != command.group_id:
        # A reply answers a message of its own group; the agents check the rest.
        raise CommandError("message_not_found", f"there is no message {command.reply_to!r} here")
    user = await ns.get_session(sid)
    # A socket in the group's room is a member (removal takes it out at once); others
    # are checked against the projection. The agents decide for good either way.
    if not ns.gate.follows(sid, command.group_id):
        await ns.member_group(user, command.group_id)
    await refuse_if_blocked(ns, user["user_id"], command.group_id)
    await ns.bus.submit(
        SendMessage(
            group_id=command.group_id,
            client_msg_id=command.client_msg_id,
            body=command.body,
            reply_to=command.reply_to,
            **ns.actor(sid, user),
        )
    )
    return {"ok": True, "client_msg_id": command.client_msg_id}


async def tell_rejected(
    sio: socketio.AsyncServer, metrics: GatewayMetrics, answer: RequestAnswered
) -> None:
    """A send refused by the agents after it was acknowledged: tell its socket. (A read
    marker refused the same way needs no word: its member has left.)"""
    if answer.request_type != "MessageSubmitted":
        return
    metrics.refusals.labels(event="message_rejected", code=answer.code or "").inc()
    sid = answer.origin_sid
    if sid and sio.manager.is_connected(sid, NAMESPACE):
        name, payload = client_events.message_rejected(answer)
        await sio.emit(name, payload, to=sid, ignore_queue=True)


@handles("edit", bucket="change")
async def edit(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    command = parse(EditCommand, data)
    check_body(command.body)
    group_id, _ = split_message_id(command.message_id)
    user = await ns.get_session(sid)
    await ns.ask(
        EditMessage(
            group_id=group_id,
            message_id=command.message_id,
            body=command.body,
            **ns.actor(sid, user),
        )
    )
    return {"ok": True, "message_id": command.message_id}


@handles("delete", bucket="change")
async def delete(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    command = parse(DeleteCommand, data)
    group_id, _ = split_message_id(command.message_id)
    user = await ns.get_session(sid)
    await ns.ask(
        DeleteMessage(group_id=group_id, message_id=command.message_id, **ns.actor(sid, user))
    )
    return {"ok": True, "message_id": command.message_id}


@handles("react", bucket="reaction")
async def react(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    """Toggle the caller's emoji on a message; answered once the agents have decided, with
    whether it is now there (``reacted``)."""
    command = parse(ReactCommand, data)
    emoji = check_emoji(command.emoji)
    group_id, _ = split_message_id(command.message_id)
    user = await ns.get_session(sid)
    if not ns.gate.follows(sid, group_id):  # (in the room: a member, as for ``send``)
        await ns.member_group(user, group_id)
    await refuse_if_blocked(ns, user["user_id"], group_id)
    answer = await ns.ask(
        ToggleReaction(
            group_id=group_id,
            message_id=command.message_id,
            emoji=emoji,
            reacted=command.reacted,
            **ns.actor(sid, user),
        )
    )
    return {
        "ok": True,
        "message_id": command.message_id,
        "emoji": emoji,
        "reacted": bool(answer.reacted),
    }


@handles("history", bucket="read")
async def history(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    command = parse(HistoryCommand, data if data is not None else {})
    user = await ns.get_session(sid)
    group = await ns.member_group(user, command.group_id)
    if command.around_seq is not None:
        if command.around_seq > group.last_seq:
            # A message found by search, which can be ahead of this node's views: wait for
            # them, briefly, to hold it.
            group = await ns.reads.group(group.group_id, seq=command.around_seq) or group
        messages, before, after = await ns.reads.history_around(
            group, command.around_seq, command.limit
        )
        return {
            "ok": True,
            "group_id": group.group_id,
            "messages": messages,
            "next_before_seq": before,
            "next_after_seq": after,
        }
    if command.after_seq is not None:
        messages, after = await ns.reads.history_after(group, command.after_seq, command.limit)
        return {
            "ok": True,
            "group_id": group.group_id,
            "messages": messages,
            "next_after_seq": after,
        }
    messages, cursor = await ns.reads.history(group, command.before_seq, command.limit)
    return {
        "ok": True,
        "group_id": group.group_id,
        "messages": messages,
        "next_before_seq": cursor,
    }


# Read markers come with scrolling and every message of an open group: a bucket of their own
# (as big as ``read``'s), so they never spend the allowance joins and history need.
@handles("read", bucket="marker")
async def read(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    """The caller has read the group up to ``seq``: coalesced (``gateway.markers``), then a
    request to the agents, who keep the marker monotonic and within the group."""
    command = parse(ReadCommand, data)
    user = await ns.get_session(sid)
    group = await ns.reads.group(command.group_id)
    if group is None:
        raise CommandError("group_not_found", f"there is no group {command.group_id!r}")
    if user["user_id"] not in group.members and not ns.gate.follows(sid, group.group_id):
        raise CommandError("not_a_member", f"join group {command.group_id!r} first")

    async def submit(seq: int) -> None:
        request = MarkRead(group_id=group.group_id, seq=seq, **ns.actor(sid, user))
        await ns.bus.submit(request)

    await ns.markers.mark(user["user_id"], group.group_id, command.seq, submit)
    newest = max(group.last_seq, ns.seen.head(group.group_id, "seq"))
    marker = int(group.members.get(user["user_id"], {}).get("last_read_seq", 0))
    return {
        "ok": True,
        "group_id": group.group_id,
        "last_read_seq": max(marker, min(command.seq, newest)),
    }
