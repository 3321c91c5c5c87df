"""Filling a hole from views that trail the log, while the group keeps talking: the fill
needs the views only up to the first event held live, then releases what was held, so a
socket joins a busy group however far the views trail (as long as they move)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

from gateway.delivery import Delivery
from gateway.gate import DeliveryGate
from gateway.seen import SeenLog
from records.base import utcnow
from records.facts import MessageSaved


class Server:
    """What ``Delivery`` uses of a python-socketio server, recording what each socket gets."""

    def __init__(self, sids: list[str]) -> None:
        self.sent: dict[str, list[int]] = {sid: [] for sid in sids}
        self.disconnected: list[str] = []
        self.manager = SimpleNamespace(
            get_participants=lambda namespace, room: [(sid, None) for sid in self.sent],
            eio_sid_from_sid=lambda sid, namespace: None,
            is_connected=lambda sid, namespace: sid not in self.disconnected,
            emit_here=self.emit_here,
        )

    async def emit_here(
        self, event: str, payload: dict[str, Any], namespace: str, room: str, skip: list[str],
        written: Any = None,
    ) -> None:  # fmt: skip
        """``gateway.manager.LocalEmit.emit_here``: to the room but those skipped."""
        await self.emit(event, payload, room=room, skip_sid=skip)

    async def emit(self, event: str, payload: dict[str, Any], **where: Any) -> None:
        targets = [where["to"]] if "to" in where else list(self.sent)
        for sid in targets:
            if sid not in where.get("skip_sid", ()) and sid not in self.disconnected:
                self.sent[sid].append(int(payload["seq"]))

    async def leave_room(self, sid: str, room: str, namespace: str) -> None:
        pass

    async def disconnect(self, sid: str, **_: Any) -> None:
        self.disconnected.append(sid)


def saved(seq: int) -> MessageSaved:
    return MessageSaved(
        message_id=f"g:{seq}", group_id="g", seq=seq, sender_id="u", sender="Ann",
        client_msg_id=f"c{seq}", body="hi", saved_at=utcnow(),
    )  # fmt: skip


async def hand_on(seen: SeenLog, delivery: Delivery, seq: int) -> None:
    """Message ``seq`` of group ``g``, read in the log and handed on as the log reader does."""
    seen.read(saved(seq), 0, seq - 1)
    await delivery.deliver(saved(seq))


class TrailingViews:
    """Views that hold messages 1..``last_seq``: the projector's progress, set by the test."""

    def __init__(self, last_seq: int) -> None:
        self.last_seq = last_seq

    async def group(self, group_id: str, **_: int) -> Any:
        return SimpleNamespace(group_id=group_id, last_seq=self.last_seq, last_change=0)

    async def messages_between(
        self, group_id: str, first: int, last: int
    ) -> AsyncIterator[dict[str, Any]]:
        for seq in range(first, min(last, self.last_seq) + 1):
            yield {"group_id": group_id, "seq": seq}

    async def changes_between(
        self, group_id: str, first: int, last: int
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        for _ in ():
            yield _


async def test_a_join_to_a_busy_group_goes_live_while_the_views_trail() -> None:
    server = Server(["s"])
    views = TrailingViews(last_seq=5)
    gate, seen = DeliveryGate(), SeenLog()
    delivery = Delivery(server, gate, seen, views, gap_timeout=0.3)  # type: ignore[arg-type]
    seen.read(saved(10), 0, 9)  # this node has read up to seq 10 in the log
    gate.follow("s", "g", 3, 0, hold=True)  # the client had seen up to 3
    fill = asyncio.create_task(delivery.fill("s", "g"))
    for seq in range(11, 80):  # a new message every 10 ms; the views stay 5 behind
        await hand_on(seen, delivery, seq)
        views.last_seq = seq - 5
        await asyncio.sleep(0.01)
    await asyncio.wait_for(fill, 1)
    assert server.disconnected == [], "the fill chased the head and gave up"
    assert server.sent["s"] == list(range(4, 80)), "each message once, in order"
    assert gate.streams[("s", "g")].held is None, "live from now on"


async def test_views_that_stop_short_of_the_held_events_disconnect_the_socket() -> None:
    server = Server(["s"])
    views = TrailingViews(last_seq=5)
    gate, seen = DeliveryGate(), SeenLog()
    delivery = Delivery(server, gate, seen, views, gap_timeout=0.2)  # type: ignore[arg-type]
    seen.read(saved(10), 0, 9)
    gate.follow("s", "g", 3, 0, hold=True)
    fill = asyncio.create_task(delivery.fill("s", "g"))
    await hand_on(seen, delivery, 11)
    await asyncio.wait_for(fill, 1)  # the views never get past 5: the projector stopped
    assert server.disconnected == ["s"]
    assert server.sent["s"] == [4, 5], "nothing past the hole"


async def test_a_socket_back_after_a_moment_is_filled_from_what_the_node_read() -> None:
    """Its node restarted, the socket joins another one that has read the group all along:
    what it missed comes from that node's memory of the log, while the views stand still."""
    server = Server(["s"])
    views = TrailingViews(last_seq=5)  # the projector is far behind, and stays there
    gate, seen = DeliveryGate(), SeenLog()
    delivery = Delivery(server, gate, seen, views, gap_timeout=0.3)  # type: ignore[arg-type]
    for seq in range(1, 21):
        await hand_on(seen, delivery, seq)
    gate.follow("s", "g", 12, 0, hold=True)  # the client had seen up to 12
    await asyncio.wait_for(delivery.fill("s", "g"), 1)
    await hand_on(seen, delivery, 21)
    assert server.disconnected == []
    assert server.sent["s"] == list(range(13, 22)), "each message once, in order"


async def test_what_the_node_did_not_read_still_comes_from_the_views() -> None:
    """A node that started reading the log at seq 8 has 8 onwards only: 4 to 7 come from the
    views, the rest from memory."""
    server = Server(["s"])
    views = TrailingViews(last_seq=7)
    gate, seen = DeliveryGate(), SeenLog()
    delivery = Delivery(server, gate, seen, views, gap_timeout=0.3)  # type: ignore[arg-type]
    for seq in range(8, 15):
        await hand_on(seen, delivery, seq)
    gate.follow("s", "g", 3, 0, hold=True)
    await asyncio.wait_for(delivery.fill("s", "g"), 1)
    assert server.disconnected == []
    assert server.sent["s"] == list(range(4, 15))
