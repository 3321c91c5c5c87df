"""Delivery of a group's facts to this node's sockets: in order, once, with no hole.

Every gateway node reads the whole event log itself (``gateway.log_reader``) and delivers to
its own sockets, so nothing a client must see depends on a pub/sub hop that can drop it. Each
message, edit and delete passes the ``DeliveryGate`` (``gateway.gate``): the next one is sent,
one sent before is dropped, one past a hole (a socket that joined while the projector was
behind, a fact read before the socket followed) is held, and the hole is filled (``Delivery.
fill``: from what this node read of the log a moment ago, ``gateway.recent``, or from the
views), then the held events are released past it. A hole the views cannot
fill within ``gap_timeout`` (projector stopped) disconnects the socket rather than skip: the
client reconnects, joins with ``since_seq`` and gets everything once the views have it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from functools import partial
from typing import Any

import socketio

from gateway.admission import DeliveryLag
from gateway.client_events import client_events
from gateway.gate import HOLE, ORDERED, SEND, DeliveryGate, Stream
from gateway.quotes import DEFAULT_QUOTES, Quotes
from gateway.readmodel import ReadModel
from gateway.recent import RecentEvents
from gateway.rooms import NAMESPACE, group_room
from gateway.seen import SeenLog
from records.facts import Fact, MemberLeft, MemberRemoved, MessageSaved
from records.views import Group

log = logging.getLogger(__name__)

CATCH_UP_QUEUE = 200
"""Packets a socket may have waiting while it is sent what it missed: past this, a catch-up
waits for the client to read, so a long one (thousands of edits since ``since_change``)
costs the node a bounded queue, not the whole backlog at once."""


class Delivery:
    """Sends to this node's sockets through the gate, and fills holes from the views."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        gate: DeliveryGate,
        seen: SeenLog,
        reads: ReadModel,
        gap_timeout: float,
        quotes: int = DEFAULT_QUOTES,
        recent: RecentEvents | None = None,
        lag: DeliveryLag | None = None,
    ) -> None:
        self.sio = sio
        self.gate = gate
        self.seen = seen
        self.reads = reads
        self.gap_timeout = gap_timeout
        self.quotes = Quotes(reads, quotes)
        """What live replies quote: fed every fact delivered, in log order."""
        self.recent = recent if recent is not None else RecentEvents()
        """What a socket back after a moment away is filled from, ahead of the views."""
        self.lag = lag if lag is not None else DeliveryLag(0)
        """How long messages take from send to this node: what admits sends."""
        self._fills: set[asyncio.Task[None]] = set()

    async def deliver(self, fact: Fact) -> None:
        """Send what a fact of the log becomes (``client_events``) to the sockets here it
        concerns: messages, edits and deletes through the gate, the rest as they come. A
        reply goes out with the quote of its original as it is now (``gateway.quotes``)."""
        self.quotes.read(fact)
        name: str = fact.type
        try:
            reply_to = fact.reply_to if isinstance(fact, MessageSaved) else None
            original = await self.quotes.original(fact.group_id, reply_to) if reply_to else None
            events = client_events(fact, original)
            if isinstance(fact, MemberLeft | MemberRemoved):
                # Out of the room before anything else can be sent to it: the departing
                # member's sockets here get this event (in their own room) and nothing after.
                await self.leave(fact.group_id, fact.user_id)
            sent_at = fact.requested_at if isinstance(fact, MessageSaved) else None
            for name, rooms, payload in events:
                if name in ORDERED:
                    await self.ordered(fact.group_id, name, payload, sent_at)
                else:
                    await self.sio.emit(name, payload, room=rooms, ignore_queue=True)
        except Exception:
            # A socket that cannot be written to is dropped by Socket.IO; the fact is in the
            # log and the views, and the client recovers it with join + since_seq.
            log.exception("could not deliver %s of group %s", name, fact.group_id)

    async def ordered(
        self,
        group_id: str,
        event: str,
        payload: dict[str, Any],
        sent_at: datetime | None = None,
    ) -> None:
        """Deliver a message, edit or delete to the group's sockets here, each in order.
        ``sent_at``: when the message was sent, so that the time it takes to reach a socket
        here is measured (``lag``: what admits new sends)."""
        self.recent.add(group_id, event, payload)
        room = group_room(group_id)
        skip = []
        for sid, _ in list(self.sio.manager.get_participants(NAMESPACE, room)):
            verdict = self.gate.admit(sid, group_id, event, payload)
            if verdict != SEND:
                skip.append(sid)
            if verdict == HOLE:
                self._start_fill(sid, group_id)
        written = partial(self.lag.observe, sent_at) if sent_at is not None else None
        # (``gateway.manager``: the emit that says when the first socket's writer takes it)
        await self.sio.manager.emit_here(event, payload, NAMESPACE, room, skip, written=written)

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

    async def close(self) -> None:
        for task in list(self._fills):
            task.cancel()

    async def fill(self, sid: str, group_id: str) -> None:
        """Send ``sid`` what it has not had of the group (from ``recent`` or the views), up to
        what it holds live (or, holding nothing, the newest position known); then release
        what was held, in order. Runs while the stream holds live events, so nothing
        overtakes what is filled.

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
                if await self._fill_once(sid, group_id, group, stream, targets):
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
        """How far to fill, per kind: to just before the first event held
        that is not sent yet; holding none, to the newest position the log (read here) or
        the views show."""
        targets = {kind: self.seen.head(group_id, kind) for kind in ("seq", "change")}
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
        self, sid: str, group_id: str, group: Group | None, stream: Stream, targets: dict[str, int]
    ) -> bool:
        """One pass, each kind from what this node read of the log when it has all of it
        (``gateway.recent``), else from the views; True if it sent anything."""
        sent = False
        seq, change = stream.cursors["seq"], stream.cursors["change"]
        deadline = time.monotonic() + self.gap_timeout
        for kind, position in (("seq", seq), ("change", change)):
            if position < targets[kind]:
                recent = self.recent.between(group_id, kind, position + 1, targets[kind])
                for event, payload in recent or ():
                    if stream.verdict(event, payload) == SEND:
                        await self.paced(sid, deadline)
                        await self.sio.emit(event, payload, to=sid, ignore_queue=True)
                        sent = True
        if group is None:
            return sent
        seq, change = stream.cursors["seq"], stream.cursors["change"]
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
