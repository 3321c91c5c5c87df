"""The blocks of a direct conversation the gateway refuses early by: what the node read in the
log first, the views' otherwise, read once for a while and not at every message."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from gateway import readmodel
from gateway.readmodel import ReadModel
from gateway.seen import SeenLog
from records.direct import direct_group_id
from records.facts import UserBlocked

ANN, BOB = "user-ann", "user-bob"
CONVERSATION = direct_group_id(ANN, BOB)


class Views:
    """A database of one group document, counting the reads of it."""

    def __init__(self, blocked_by: list[str], takes: float = 0.0) -> None:
        self.reads = 0
        self.takes = takes
        self.failing = False
        self.document: dict[str, Any] = {
            "_id": CONVERSATION,
            "name": "",
            "private": True,
            "owner_id": ANN,
            "version": 3,
            "members": {ANN: {}, BOB: {}},
            "blocked_by": blocked_by,
        }

    def __getitem__(self, name: str) -> Views:
        return self

    async def find_one(self, query: dict[str, Any], *args: Any) -> dict[str, Any] | None:
        self.reads += 1
        await asyncio.sleep(self.takes)
        if self.failing:
            raise AutoReconnect("the views went away")
        return self.document if query.get("_id") == CONVERSATION else None


def model(views: Views, seen: SeenLog | None = None) -> ReadModel:
    return ReadModel(views, seen or SeenLog(), wait=0.0)  # type: ignore[arg-type]


async def test_the_views_blocks_are_read_once_for_many_messages() -> None:
    views = Views(blocked_by=[BOB])
    reads = model(views)
    for _ in range(100):
        assert await reads.blockers(CONVERSATION) == {BOB}
    assert views.reads == 1


async def test_the_views_are_read_again_once_what_was_read_is_old(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(readmodel, "BLOCKS_FRESH_FOR", -1.0)  # old as soon as read
    views = Views(blocked_by=[])
    reads = model(views)
    assert await reads.blockers(CONVERSATION) == frozenset()
    views.document["blocked_by"] = [ANN]
    assert await reads.blockers(CONVERSATION) == {ANN}
    assert views.reads == 2


async def test_a_block_read_in_the_log_comes_before_the_views() -> None:
    views = Views(blocked_by=[])
    seen = SeenLog()
    reads = model(views, seen)
    assert await reads.blockers(CONVERSATION) == frozenset()  # kept from the views
    block = UserBlocked(group_id=CONVERSATION, by_id=ANN, by="ann", user_id=BOB, username="bob")
    seen.read(block, 0, 7)
    assert await reads.blockers(CONVERSATION) == {ANN}
    assert views.reads == 1


async def test_the_conversations_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readmodel, "BLOCKS_KEPT", 3)
    reads = model(Views(blocked_by=[]))
    for n in range(10):
        await reads.blockers(direct_group_id(ANN, f"user-{n}"))
    assert len(reads._blocks) == 3


async def test_sends_that_ask_while_the_views_are_read_wait_for_that_one_read() -> None:
    views = Views(blocked_by=[ANN], takes=0.05)
    reads = model(views)
    answers = await asyncio.gather(*(reads.blockers(CONVERSATION) for _ in range(50)))
    assert answers == [{ANN}] * 50
    assert views.reads == 1


async def test_a_failed_read_is_not_kept() -> None:
    views = Views(blocked_by=[BOB])
    views.failing = True
    reads = model(views)
    with pytest.raises(AutoReconnect):
        await reads.blockers(CONVERSATION)
    views.failing = False
    assert await reads.blockers(CONVERSATION) == {BOB}
    assert views.reads == 2
