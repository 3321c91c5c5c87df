"""Handlers of who is around: ``presence`` (who of a group is online) and ``typing``, and the
announcement to a person's groups when they come online or go offline (``gateway.presence``).
Neither is stored: typing is relayed through Socket.IO's Redis manager to the other nodes."""

from __future__ import annotations

import time
from typing import Any

import socketio

from gateway import client_events
from gateway.commands import CommandError, InGroup, parse
from gateway.handling.direct import refuse_if_blocked
from gateway.handling.namespace import ChatNamespace, Reply, handles
from gateway.readmodel import ReadModel
from gateway.rooms import group_room


@handles("presence", bucket="read")
async def presence(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    command = parse(InGroup, data)
    group = await ns.member_group(await ns.get_session(sid), command.group_id)
    online = await ns.presence.online(sorted(group.members))
    return {
        "ok": True,
        "group_id": group.group_id,
        "online": [{"user_id": uid, "username": group.members[uid]["username"]} for uid in online],
    }


@handles("typing", bucket="typing")
async def typing(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    """Relayed to the group's other sockets at most once per ``typing_interval``."""
    command = parse(InGroup, data)
    if not ns.gate.follows(sid, command.group_id):
        raise CommandError("not_a_member", f"join group {command.group_id!r} first")
    now = time.monotonic()
    key = (sid, command.group_id)
    if now - ns.typed_at.get(key, float("-inf")) < ns.settings.typing_interval:
        return {"ok": True, "relayed": False}
    user = await ns.get_session(sid)
    # A blocked person shows no "typing…" to the one who blocks them (nor the other way).
    await refuse_if_blocked(ns, user["user_id"], command.group_id)
    ns.typed_at[key] = now
    name, payload = client_events.typing(command.group_id, user["user_id"], user["username"])
    await ns.emit(name, payload, room=group_room(command.group_id), skip_sid=sid)
    return {"ok": True, "relayed": True}


async def announce(
    sio: socketio.AsyncServer, reads: ReadModel, user_id: str, username: str, online: bool
) -> None:
    """Tell each of the person's groups that they came online or went offline."""
    for group_id in await reads.group_ids_of(user_id):
        name, payload = client_events.presence_changed(group_id, user_id, username, online)
        await sio.emit(name, payload, room=group_room(group_id))
