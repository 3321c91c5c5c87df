"""Delivery of group broadcasts to this node's sockets: in order, once, and after catch-up.

Broadcasts reach every node through python-socketio's Redis manager. ``SequencedRedisManager``
looks at each one as it is delivered locally (its ``_handle_emit``, pinned to
python-socketio 5.18's pub/sub manager) and asks the ``DeliveryGate``:

- a ``message`` goes to a socket only if its ``seq`` is past what that socket has already
  been sent, and an edit or delete only if its ``change`` is, so nothing re-published after
  a crash or a rebalance reaches anyone twice; while the socket is catching up (``join``
  with ``since_seq`` / ``since_change``) they are held, then released after what it missed,
  so a client sees no gap and no duplicate;
- membership broadcasts also move this node's sockets: on ``member_left`` and
  ``member_removed`` all of the member's sockets leave the group's room, at once, on every
  node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import socketio

log = logging.getLogger(__name__)

GROUP_ROOM_PREFIX = "group:"


def group_room(group_id: str) -> str:
    return f"{GROUP_ROOM_PREFIX}{group_id}"


ORDERED = {"message": "seq", "message_edited": "change", "message_deleted": "change"}
"""Events delivered in order, once, by the position they carry: messages by ``seq``, edits
and deletes by their ``change`` number."""


@dataclass
class Stream:
    """What one socket has been sent of one group: the last message and the last change."""

    cursors: dict[str, int]
    held: list[tuple[str, dict[str, Any]]] | None = None

    def is_new(self, event: str, payload: dict[str, Any]) -> bool:
        """True, and the cursor moved, if ``payload`` is past what was sent of its kind."""
        kind = ORDERED[event]
        position = int(payload.get(kind) or 0)
        if position == 0:  # an edit recorded before changes were numbered
            return True
        if position <= self.cursors.get(kind, 0):
            return False
        self.cursors[kind] = position
        return True


@dataclass
class DeliveryGate:
    users: dict[str, str] = field(default_factory=dict)
    """Local socket id → user id."""
    streams: dict[tuple[str, str], Stream] = field(default_factory=dict)

    def connected(self, sid: str, user_id: str) -> None:
        self.users[sid] = user_id

    def disconnected(self, sid: str) -> None:
        self.users.pop(sid, None)
        for key in [key for key in self.streams if key[0] == sid]:
            del self.streams[key]

    def follow(self, sid: str, group_id: str, seq: int, change: int, *, hold: bool) -> Stream:
        stream = Stream(cursors={"seq": seq, "change": change}, held=[] if hold else None)
        self.streams[(sid, group_id)] = stream
        return stream

    def unfollow(self, sid: str, group_id: str) -> None:
        self.streams.pop((sid, group_id), None)

    def admit(self, sid: str, group_id: str, event: str, payload: dict[str, Any]) -> bool:
        """True if the event is to be sent to ``sid`` now; held or duplicate ones are not."""
        stream = self.streams.get((sid, group_id))
        if stream is None:
            stream = self.follow(sid, group_id, 0, 0, hold=False)
        if stream.held is not None:
            stream.held.append((event, payload))
            return False
        return stream.is_new(event, payload)

    def sockets_of(self, user_id: str) -> list[str]:
        return [sid for sid, uid in self.users.items() if uid == user_id]


class SequencedRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    def __init__(self, gate: DeliveryGate, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = gate

    async def close(self) -> None:
        """Stop listening and close the Redis connections (``sio.shutdown`` does neither)."""
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await thread
        if self.pubsub is not None:
            await self.pubsub.aclose()
        if self.redis is not None:
            await self.redis.aclose()

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        room = message.get("room")
        if not (isinstance(room, str) and room.startswith(GROUP_ROOM_PREFIX)):
            await super()._handle_emit(message)
            return
        group_id = room.removeprefix(GROUP_ROOM_PREFIX)
        namespace = message.get("namespace") or "/"
        event = message.get("event")
        data = message["data"][0] if message.get("data") else {}
        if event in ORDERED:
            skip = [
                sid
                for sid, _ in list(self.get_participants(namespace, room))
                if not self.gate.admit(sid, group_id, event, data)
            ]
            if skip:
                message = {**message, "skip_sid": [*_as_list(message.get("skip_sid")), *skip]}
        await super()._handle_emit(message)
        if event in ("member_left", "member_removed"):
            await self._leave(namespace, room, group_id, data.get("user_id"))

    async def _leave(self, namespace: str, room: str, group_id: str, user_id: Any) -> None:
        for sid in self.gate.sockets_of(str(user_id)):
            self.gate.unfollow(sid, group_id)
            if self.is_connected(sid, namespace):
                await super().leave_room(sid, namespace, room)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
