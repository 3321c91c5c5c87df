"""Delivery of a group's facts to this node's sockets: in order, once, with no hole.

Every gateway node reads the whole event log itself (``gateway.broadcast``) and delivers to
its own sockets, so nothing a client must see depends on a pub/sub hop that can drop it. For
each socket and group it follows, the ``DeliveryGate`` keeps a cursor per ordered stream:
messages by ``seq``, edits and deletes by ``change``. An event is sent when it is the next
one; one already sent is dropped; one past a hole (a socket that joined while the projector
was behind, a fact read before the socket followed) is held, and the hole is filled from the
views (``Delivery.fill``), then the held events are released past it. A hole the views cannot
fill within ``gap_timeout`` (projector stopped) disconnects the socket rather than skip: the
client reconnects, joins with ``since_seq`` and gets everything once the views have it.

The node also knows the newest position of every group from the log (``heads``), so a join
catches up to the end even when the last fact is not in the views yet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiokafka import TopicPartition

from gateway.readmodel import ReadModel
from records.views import Group

log = logging.getLogger(__name__)

GROUP_ROOM_PREFIX = "group:"
NAMESPACE = "/"


def group_room(group_id: str) -> str:
    return f"{GROUP_ROOM_PREFIX}{group_id}"


def user_room(user_id: str) -> str:
    """Every socket of a person on this node: what concerns them in any group."""
    return f"user:{user_id}"


ORDERED = {"message": "seq", "message_edited": "change", "message_deleted": "change"}
"""Events delivered in order, once, by the position they carry."""

SEND, DROP, HOLD, HOLE = "send", "drop", "hold", "hole"

CATCH_UP_QUEUE = 200
"""Packets a socket may have waiting while it is sent what it missed: past this, a catch-up
waits for the client to read, so a long one (thousands of edits since ``since_change``)
costs the node a bounded queue, not the whole backlog at once."""

RECENT_DEPARTURES = 10_000
"""Departures (left, removed) remembered per node, newest kept: enough to cover a join that
was answered just before its member was removed."""


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
    users: dict[str, str] = field(default_factory=dict)
    """Local socket id → user id."""
    streams: dict[tuple[str, str], Stream] = field(default_factory=dict)
    heads: dict[str, dict[str, int]] = field(default_factory=dict)
    """Group id → the newest ``seq``, ``change`` and ``version`` this node read in the log."""
    placed: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Group id → the partition of the log and the offset after the newest fact of the group
    this node read: once the projector has applied that far, the group's view holds it."""
    memberships: dict[str, dict[str, int]] = field(default_factory=dict)
    """User id → group id → the group's version after the newest fact about the user there
    (joined, left, invited …), so the user's reads can wait for the views to show it."""

    departures: OrderedDict[tuple[str, str], int] = field(default_factory=OrderedDict)
    """(user id, group id) → the group's version when the user last left or was removed."""

    def departed(self, user_id: str, group_id: str, version: int) -> None:
        self.departures[(user_id, group_id)] = version
        self.departures.move_to_end((user_id, group_id))
        while len(self.departures) > RECENT_DEPARTURES:
            self.departures.popitem(last=False)

    def returned(self, user_id: str, group_id: str, version: int) -> None:
        if self.departures.get((user_id, group_id), version) < version:
            del self.departures[(user_id, group_id)]

    def departed_after(self, user_id: str, group_id: str, version: int) -> bool:
        """True if this node has read that the user left the group, or was removed from it,
        after the group was at ``version``."""
        return self.departures.get((user_id, group_id), 0) > version

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

    def saw(self, group_id: str, kind: str, position: int) -> None:
        head = self.heads.setdefault(group_id, {"seq": 0, "change": 0, "version": 0})
        head[kind] = max(head[kind], position)

    def read_at(self, group_id: str, partition: int, offset: int) -> None:
        """A fact of the group was read at ``offset`` of ``partition``."""
        self.placed[group_id] = (partition, offset + 1)

    def concerns(self, user_id: str, group_id: str, version: int) -> None:
        groups = self.memberships.setdefault(user_id, {})
        groups[group_id] = max(groups.get(group_id, 0), version)

    def changes_of(self, user_id: str) -> dict[str, int]:
        return self.memberships.get(user_id, {})

    def head(self, group_id: str, kind: str) -> int:
        return self.heads.get(group_id, {}).get(kind, 0)

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


class Delivery:
    """Sends to this node's sockets through the gate, and fills holes from the views."""

    def __init__(
        self, sio: socketio.AsyncServer, gate: DeliveryGate, reads: ReadModel, gap_timeout: float
    ) -> None:
        self.sio = sio
        self.gate = gate
        self.reads = reads
        self.gap_timeout = gap_timeout
        self.log_positions: dict[TopicPartition, int] = {}
        """The next offset of each partition of the log this node will read."""
        self._fills: set[asyncio.Task[None]] = set()

    async def ordered(self, group_id: str, event: str, payload: dict[str, Any]) -> None:
        """Deliver a message, edit or delete to the group's sockets here, each in order."""
        kind = ORDERED[event]
        self.gate.saw(group_id, kind, int(payload.get(kind) or 0))
        room = group_room(group_id)
        skip = []
        for sid, _ in list(self.sio.manager.get_participants(NAMESPACE, room)):
            verdict = self.gate.admit(sid, group_id, event, payload)
            if verdict != SEND:
                skip.append(sid)
            if verdict == HOLE:
                self._start_fill(sid, group_id)
        await self.sio.emit(event, payload, room=room, skip_sid=skip, ignore_queue=True)

    async def paced(self, sid: str, deadline: float) -> None:
        """Return once ``sid`` has at most ``CATCH_UP_QUEUE`` packets waiting (at once when it
        reads); ``TimeoutError`` past ``deadline`` (``time.monotonic()``) without its queue
        going down."""
        while (queued := self._queued(sid)) > CATCH_UP_QUEUE:
            if time.monotonic() > deadline:
                raise TimeoutError(f"socket {sid} has not read {queued} packets")
            await asyncio.sleep(0.01)

    def _queued(self, sid: str) -> int:
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
        socket = self.sio.eio.sockets.get(eio_sid) if eio_sid is not None else None
        return socket.queue.qsize() if socket is not None else 0

    def _start_fill(self, sid: str, group_id: str) -> None:
        task = asyncio.create_task(self.fill(sid, group_id))
        self._fills.add(task)
        task.add_done_callback(self._fills.discard)

    async def current_group(self, group_id: str) -> Group | None:
        """The group's view once it holds every fact of the group this node has read in the
        log (a socket's own join among them): a read after a change sees the change."""
        head, wait = self.gate.head, None
        if (placed := self.gate.placed.get(group_id)) is not None:
            # The positions first (one poll for all the node's waiting reads), then the group
            # once; waited for in vain, the group is read as it is, after one more look.
            partition, offset = placed
            if not await self.reads.reached({partition: offset}):
                wait = 0.0
        return await self.reads.group(
            group_id,
            seq=head(group_id, "seq"),
            change=head(group_id, "change"),
            version=head(group_id, "version"),
            wait=wait,
        )

    async def views_caught_up(self) -> None:
        """Wait (briefly) until the views hold every fact this node has read in the log."""
        await self.reads.reached({tp.partition: n for tp, n in self.log_positions.items()})

    async def close(self) -> None:
        for task in list(self._fills):
            task.cancel()
        await self.reads.applied.close()

    async def fill(self, sid: str, group_id: str) -> None:
        """Send ``sid`` what it has not had of the group, from the views, up to what it holds
        live (or, holding nothing, the newest position known); then release what was held, in
        order. Runs while the stream holds live events, so nothing overtakes what is filled.

        The views are needed only up to the first held event: that position was in the log
        before the socket followed, so the projector gets there however busy the group is
        (a fill that chased the head of a busy group would never end while the views trail).
        """
        stream = self.gate.streams.get((sid, group_id))
        if stream is None:
            return
        deadline = time.monotonic() + self.gap_timeout
        targets: dict[str, int] = {}
        try:
            while True:
                group = await self.reads.group(group_id)
                targets = self._targets(group_id, stream, group)
                if all(stream.cursors[k] >= targets[k] for k in targets):
                    if await self._release(sid, stream):
                        return
                    continue  # a held event past a hole: fill up to it
                if group is not None and await self._fill_once(sid, group, stream, targets):
                    deadline = time.monotonic() + self.gap_timeout  # the views are moving
                elif time.monotonic() > deadline:
                    raise TimeoutError
                else:
                    await asyncio.sleep(0.05)
        except TimeoutError:
            log.error(
                "socket %s: group %s has a hole the views did not fill in %gs (sent seq %d "
                "change %d, filling to %s); disconnecting",
                sid,
                group_id,
                self.gap_timeout,
                stream.cursors["seq"],
                stream.cursors["change"],
                targets,
            )
            await self._drop(sid, group_id)
        except Exception:
            log.exception("socket %s: filling group %s failed; disconnecting", sid, group_id)
            await self._drop(sid, group_id)

    async def _release(self, sid: str, stream: Stream) -> bool:
        """Send what was held while the socket was filled, in order, up to a hole if one is
        left; True once nothing is held (the stream is live). Events that arrive meanwhile
        join the same list and go out in turn."""
        held = stream.held or []
        while held:
            event, payload = held[0]
            verdict = stream.verdict(event, payload)
            if verdict == HOLE:
                return False
            del held[0]
            if verdict == SEND:
                await self.sio.emit(event, payload, to=sid, ignore_queue=True)
        stream.held = None
        return True

    async def _drop(self, sid: str, group_id: str) -> None:
        """Out of the room first, then no cursor, then disconnected: a socket must never be
        in the room without a cursor, or it would be sent the group from the start."""
        if self.sio.manager.is_connected(sid, NAMESPACE):
            await self.sio.leave_room(sid, group_room(group_id), namespace=NAMESPACE)
        self.gate.unfollow(sid, group_id)
        await self.sio.disconnect(sid, namespace=NAMESPACE, ignore_queue=True)

    def _targets(self, group_id: str, stream: Stream, group: Group | None) -> dict[str, int]:
        """How far to fill from the views, per kind: to just before the first event held
        that is not sent yet; holding none, to the newest position the log (read here) or
        the views show."""
        targets = {kind: self.gate.head(group_id, kind) for kind in ("seq", "change")}
        if group is not None:
            targets["seq"] = max(targets["seq"], group.last_seq)
            targets["change"] = max(targets["change"], group.last_change)
        first_held: dict[str, int] = {}
        for event, payload in stream.held or []:
            kind = ORDERED[event]
            position = int(payload.get(kind) or 0)
            if position > stream.cursors[kind] and kind not in first_held:
                first_held[kind] = position
        for kind, position in first_held.items():
            targets[kind] = position - 1
        return targets

    async def _fill_once(
        self, sid: str, group: Group, stream: Stream, targets: dict[str, int]
    ) -> bool:
        """One pass over the views; True if it sent anything."""
        sent, group_id = False, group.group_id
        seq, change = stream.cursors["seq"], stream.cursors["change"]
        deadline = time.monotonic() + self.gap_timeout
        if seq < targets["seq"] and group.last_seq > seq:
            async for message in self.reads.messages_between(group_id, seq + 1, targets["seq"]):
                if stream.verdict("message", message) == SEND:
                    await self.paced(sid, deadline)
                    await self.sio.emit("message", message, to=sid, ignore_queue=True)
                    sent = True
                elif int(message["seq"]) > stream.cursors["seq"]:
                    break  # a page not written yet: try again
        if change < targets["change"] and group.last_change > change:
            last = targets["change"]
            async for event, payload in self.reads.changes_between(group_id, change + 1, last):
                if stream.verdict(event, payload) == SEND:
                    await self.paced(sid, deadline)
                    await self.sio.emit(event, payload, to=sid, ignore_queue=True)
                    sent = True
        return sent

    async def leave(self, group_id: str, user_id: str) -> None:
        """A member left or was removed: their sockets here stop following the group."""
        room = group_room(group_id)
        for sid in self.gate.sockets_of(user_id):
            self.gate.unfollow(sid, group_id)
            if self.sio.manager.is_connected(sid, NAMESPACE):
                await self.sio.leave_room(sid, room, namespace=NAMESPACE)
