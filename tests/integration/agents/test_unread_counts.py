"""Unread and mention counts in the views survive a stretch of the log projected twice (a
projector that crashed before recording its position): the same facts again leave the same
counts, however the stretch falls."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from agents.view_writer import ViewWriter
from records.base import utcnow
from records.facts import Fact, GroupCreated, MemberJoined, MessageDeleted, MessageSaved, ReadMarked
from records.views import group_shelf


def story(group: str, marker: bool) -> list[Fact]:
    def said(seq: int, body: str, mentions: list[str]) -> MessageSaved:
        return MessageSaved(
            message_id=f"{group}:{seq}", group_id=group, seq=seq, sender_id="ann", sender="Ann",
            client_msg_id=f"c{seq}", body=body, saved_at=utcnow(), mentions=mentions,
        )  # fmt: skip

    now = utcnow()
    return [
        GroupCreated(group_id=group, name="g", private=False, owner_id="ann", owner="Ann",
                     version=1),  # fmt: skip
        said(1, "before bob", []),
        MemberJoined(group_id=group, version=2, occurred_at=now, user_id="bob", username="Bob",
                     read_seq=1),  # fmt: skip
        said(2, "hi @bob", ["bob"]),
        said(3, "and more", []),
        said(4, "again @bob", ["bob"]),
        *([ReadMarked(group_id=group, occurred_at=now, user_id="bob", username="Bob", seq=2)]
          if marker else []),
        said(5, "after the marker", []),
    ]  # fmt: skip


async def bob_in(database: Any, group: str) -> dict[str, Any]:
    doc = await database[group_shelf(group)].find_one({"_id": group})
    assert doc is not None
    member: dict[str, Any] = doc["members"]["bob"]
    return {k: member[k] for k in ("last_read_seq", "unread", "mentions")}


@pytest.mark.parametrize("marker", [False, True], ids=["unread since joining", "read to 2"])
async def test_counts_are_the_same_after_any_stretch_is_projected_again(
    database: Any, marker: bool
) -> None:
    facts = story(f"g-{uuid.uuid4().hex[:8]}", marker)
    group = facts[0].group_id
    writer = ViewWriter(database)
    await writer.apply(facts)
    expected = (
        {"last_read_seq": 2, "unread": 3, "mentions": 1}  # 3, 4, 5; 4 names him
        if marker
        else {"last_read_seq": 1, "unread": 4, "mentions": 2}  # 2 … 5; 2 and 4 name him
    )
    assert await bob_in(database, group) == expected
    for start in range(len(facts)):  # from each fact to the end, again
        await writer.apply(facts[start:])
        assert await bob_in(database, group) == expected, f"replayed from fact {start}"


async def test_a_delete_never_takes_a_count_below_zero(database: Any) -> None:
    facts = story(f"g-{uuid.uuid4().hex[:8]}", marker=False)
    group = facts[0].group_id
    writer = ViewWriter(database)
    await writer.apply(facts)
    # As a view made before counts were kept shows him: nothing counted.
    await database[group_shelf(group)].update_one(
        {"_id": group}, {"$unset": {"members.bob.unread": "", "members.bob.mentions": ""}}
    )
    deleted = MessageDeleted(group_id=group, occurred_at=utcnow(), message_id=f"{group}:4",
                             seq=4, by_id="ann", change=1)  # fmt: skip
    await writer.apply([deleted])
    doc = await database[group_shelf(group)].find_one({"_id": group})
    assert doc is not None
    bob = doc["members"]["bob"]
    assert (bob.get("unread", 0), bob.get("mentions", 0)) == (0, 0)


def readers_story(group: str) -> list[Fact]:
    """Two readers marking as they go, among messages, an edit and a delete."""
    now = utcnow()

    def said(seq: int, sender: str, mentions: list[str]) -> MessageSaved:
        return MessageSaved(
            message_id=f"{group}:{seq}", group_id=group, seq=seq, sender_id=sender,
            sender=sender, client_msg_id=f"c{seq}", body=f"m{seq}", saved_at=now,
            mentions=mentions,
        )  # fmt: skip

    def joined(version: int, user: str) -> MemberJoined:
        return MemberJoined(group_id=group, version=version, occurred_at=now, user_id=user,
                            username=user, read_seq=0)  # fmt: skip

    def read(user: str, seq: int) -> ReadMarked:
        return ReadMarked(group_id=group, occurred_at=now, user_id=user, username=user, seq=seq)

    return [
        GroupCreated(group_id=group, name="g", private=False, owner_id="ann", owner="ann",
                     version=1),  # fmt: skip
        joined(2, "bob"),
        joined(3, "cat"),
        said(1, "ann", ["bob"]),
        said(2, "bob", ["cat"]),
        read("bob", 2),
        said(3, "ann", ["bob", "cat"]),
        read("cat", 1),
        read("bob", 1),  # an older marker arriving late: never back
        said(4, "cat", []),
        MessageDeleted(group_id=group, occurred_at=now, message_id=f"{group}:3", seq=3,
                       by_id="ann", change=1),  # fmt: skip
        said(5, "ann", ["cat"]),
        read("cat", 4),
        said(6, "ann", ["bob"]),
    ]


async def counts_of(database: Any, group: str) -> dict[str, Any]:
    doc = await database[group_shelf(group)].find_one({"_id": group})
    assert doc is not None
    return {
        user: {k: member.get(k) for k in ("last_read_seq", "unread", "mentions")}
        for user, member in sorted(doc["members"].items())
    }


async def test_a_batch_ends_with_the_counts_of_its_facts_applied_one_at_a_time(
    database: Any,
) -> None:
    writer = ViewWriter(database)
    together, one_by_one, each_alone = (f"g-{uuid.uuid4().hex[:8]}" for _ in range(3))
    await writer.apply(readers_story(together))
    for fact in readers_story(one_by_one):
        await writer.apply([fact])
    for fact in readers_story(each_alone):
        await writer.apply_one(fact)
    expected = {
        "ann": {"last_read_seq": 0, "unread": 2, "mentions": 0},  # 2 and 4 (3 deleted)
        "bob": {"last_read_seq": 2, "unread": 3, "mentions": 1},  # 4, 5, 6; 6 names him
        "cat": {"last_read_seq": 4, "unread": 2, "mentions": 1},  # 5, 6; 5 names her
    }
    assert await counts_of(database, one_by_one) == expected
    assert await counts_of(database, together) == expected
    assert await counts_of(database, each_alone) == expected
