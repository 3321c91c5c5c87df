"""This node's sockets, and what each has been sent of each group it follows: the gate every
message, edit, delete and reaction passes on its way to a socket (``gateway.delivery``).

For each socket and group it follows, a ``Stream`` keeps a cursor per ordered stream:
messages by ``seq``, edits, deletes and reactions by ``change``. The next event is sent; one
sent before is dropped; one past a hole is held, with everything after it, until the hole is
filled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ORDERED = {
    "message": "seq",
    "message_edited": "change",
    "message_deleted": "change",
    "reaction": "change",
}
"""Events delivered in order, once, by the position they carry."""

SEND, DROP, HOLD, HOLE = "send", "drop", "hold", "hole"


@dataclass
class Stream:
    """What one socket has been sent of one group: the last message and the last change."""

    cursors: dict[str, int]
    held: list[tuple[str, dict[str, Any]]] | None = None

    def verdict(self, event: str, payload: dict[str, Any]) -> str:
        kind = ORDERED[event]
        position = int(payload.get(kind) or 0)
        if position == 0:  # an edit recorded before changes were numbered
            return SEND
        if position <= self.cursors[kind]:
            return DROP
        if position == self.cursors[kind] + 1:
            self.cursors[kind] = position
            return SEND
        return HOLE


@dataclass
class DeliveryGate:
    """This node's sockets, by person, and each one's ``Stream`` of each group it follows."""

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

    def follows(self, sid: str, group_id: str) -> bool:
        """True if the socket is in the group's room here (``follow`` and ``unfollow`` move
        both): a lookup, where Socket.IO's ``rooms(sid)`` walks every room of the node."""
        return (sid, group_id) in self.streams

    def unfollow(self, sid: str, group_id: str) -> None:
        self.streams.pop((sid, group_id), None)

    def admit(self, sid: str, group_id: str, event: str, payload: dict[str, Any]) -> str:
        """``SEND`` now, ``DROP`` (sent before), ``HOLD`` (a fill is running) or ``HOLE`` (held
        from now on: the caller starts a fill)."""
        stream = self.streams.get((sid, group_id))
        if stream is None:  # in the room without a cursor: on its way out (see ``Delivery``)
            return DROP
        if stream.held is not None:
            stream.held.append((event, payload))
            return HOLD
        verdict = stream.verdict(event, payload)
        if verdict == HOLE:
            stream.held = [(event, payload)]
        return verdict

    def sockets_of(self, user_id: str) -> list[str]:
        return [sid for sid, uid in self.users.items() if uid == user_id]
