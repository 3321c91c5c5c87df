"""Runs of reactions are written in bulk (``MessagePages.react_all``): a run leaves exactly the
documents its facts applied one by one leave, and the same run applied again changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agents.view_writer import ViewWriter
from records.base import utcnow
from records.facts import (
    Fact,
    GroupCreated,
    MemberJoined,
    MessageDeleted,
    MessageSaved,
    ReactionToggled,
)
from records.views import (
    PAGE_SIZE,
    PAGES_PER_SHELF,
    change_shelf,
    group_shelf,
    page_shelf,
    read_slot,
)

FAR = PAGE_SIZE * PAGES_PER_SHELF + 1
"""A message on the first page of the second shelf of pages."""


def said(group: str, seq: int) -> MessageSaved:
    return MessageSaved(
        message_id=f"{group}:{seq}", group_id=group, seq=seq, sender_id="ann", sender="Ann",
        client_msg_id=f"c{seq}", body=f"#{seq}", saved_at=utcnow(),
    )  # fmt: skip


def toggled(group: str, seq: int, who: str, emoji: str, count: int, change: int,
            reacted: bool = True) -> ReactionToggled:  # fmt: skip
    return ReactionToggled(group_id=group, message_id=f"{group}:{seq}", seq=seq, emoji=emoji,
                           user_id=who, username=who.title(), reacted=reacted, count=count,
                           change=change)  # fmt: skip


def opening(group: str) -> list[Fact]:
    """A group of four with messages on two pages of one shelf and one of the next."""
    return [
        GroupCreated(
            group_id=group, name="g", private=False, owner_id="ann", owner="Ann", version=1
        ),
        *(
            MemberJoined(group_id=group, version=n, user_id=who, username=who.title())
            for n, who in enumerate(("bob", "cat", "dan"), start=2)
        ),
        *(said(group, seq) for seq in range(1, FAR + 1)),
    ]


def reactions(group: str) -> list[Fact]:
    """Reactions on three pages, added and taken back, one emoji by several people, one to a
    message saved among them, one to a message deleted before it, and one numbered before
    changes were (``change`` 0: no change kept)."""
    return [
        toggled(group, 1, "bob", "👍", 1, change=1),
        toggled(group, 1, "cat", "👍", 2, change=2),
        toggled(group, PAGE_SIZE + 1, "cat", "👍", 1, change=3),
        toggled(group, 1, "dan", "🎉", 1, change=4),
        said(group, FAR + 1),
        toggled(group, FAR + 1, "ann", "❤️", 1, change=5),
        toggled(group, 1, "bob", "👍", 1, change=6, reacted=False),
        toggled(group, FAR, "bob", "👍", 1, change=7),
        toggled(group, 2, "bob", "👍", 1, change=8),
        toggled(group, PAGE_SIZE + 1, "dan", "👍", 2, change=9),
        toggled(group, FAR + 1, "bob", "❤️", 2, change=10),
        toggled(group, FAR, "bob", "👍", 0, change=11, reacted=False),
        MessageDeleted(group_id=group, message_id=f"{group}:2", seq=2, by_id="ann", change=12),
        toggled(group, 2, "cat", "👍", 2, change=13),  # (a log with one after the delete)
        toggled(group, 1, "ann", "🎉", 2, change=14),
        toggled(group, 3, "cat", "😮", 1, change=0),
        toggled(group, PAGE_SIZE + 1, "cat", "👍", 1, change=15, reacted=False),
    ]


@pytest.fixture
async def second(database: Any) -> AsyncIterator[Any]:
    """Another fresh database on the same server, for the same facts applied one by one."""
    other = database.client[f"{database.name}_one"]
    yield other
    await database.client.drop_database(other.name)


async def everything(database: Any) -> dict[str, list[dict[str, Any]]]:
    """Every document of every collection, by collection name, in ``_id`` order."""
    return {
        name: await database[name].find({}).sort("_id", 1).to_list()
        for name in sorted(await database.list_collection_names())
    }


async def slots(database: Any, group: str, page: int) -> dict[int, dict[str, Any]]:
    doc = await database[page_shelf(group, page)].find_one({"_id": page})
    assert doc is not None
    return {int(key) + 1 + page * PAGE_SIZE: read_slot(v) for key, v in doc["m"].items()}


async def test_a_run_of_reactions_leaves_what_they_leave_one_by_one(
    database: Any, second: Any
) -> None:
    groups = [f"g-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    opened = [fact for group in groups for fact in opening(group)]
    # The groups' reactions interleaved, as the log of a partition holds them.
    run = [fact for pair in zip(*(reactions(g) for g in groups), strict=True) for fact in pair]
    bulk, one_by_one = ViewWriter(database), ViewWriter(second)
    await bulk.apply(opened + run)
    await one_by_one.apply(opened)
    for fact in run:
        await one_by_one.apply_one(fact)
    expected = await everything(second)
    assert await everything(database) == expected

    group = groups[0]
    first, far = await slots(database, group, 0), await slots(database, group, FAR // PAGE_SIZE)
    assert first[1]["reactions"] == [
        {"emoji": "👍", "count": 1, "user_ids": ["cat"]},
        {"emoji": "🎉", "count": 2, "user_ids": ["dan", "ann"]},
    ]
    assert first[2]["deleted"] and first[2]["reactions"] == []
    assert first[3]["reactions"] == [{"emoji": "😮", "count": 1, "user_ids": ["cat"]}]
    second_page = await slots(database, group, 1)
    assert second_page[PAGE_SIZE + 1]["reactions"] == [
        {"emoji": "👍", "count": 1, "user_ids": ["dan"]}
    ]
    assert far[FAR]["reactions"] == []
    assert far[FAR + 1]["reactions"] == [{"emoji": "❤️", "count": 2, "user_ids": ["ann", "bob"]}]
    view = await database[group_shelf(group)].find_one({"_id": group})
    assert view is not None and view["last_change"] == 15
    changes = await database[change_shelf(group, 1)].find({}).sort("_id", 1).to_list()
    assert [c["_id"] for c in changes] == list(range(1, 16))  # none for change 0
    assert changes[12]["reaction"]["user_id"] == "cat" and changes[12]["seq"] == 2

    # A stretch projected again, from anywhere: the same documents.
    story = opened + run
    for start in [0, *range(len(opened), len(story), 5)]:
        await bulk.apply(story[start:])
        assert await everything(database) == expected, f"replayed from fact {start}"
