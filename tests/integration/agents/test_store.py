"""The message store against a real MongoDB-protocol server: numbering and idempotency."""

from __future__ import annotations

import asyncio
from typing import Any

from agents.projections import Projector
from agents.store import MessageStore
from records.requests import MessageSubmitted


def submit(group: str, n: int, sender: str = "ann") -> MessageSubmitted:
    return MessageSubmitted(
        group_id=group, actor_id=sender, actor=sender, client_msg_id=f"c{n}", body=f"body {n}"
    )


async def new_store(database: Any) -> MessageStore:
    projector = Projector(database)
    await projector.ensure_indexes()
    return MessageStore(projector)


async def stored_seqs(database: Any, group: str) -> list[int]:
    docs = await database.messages.find({"group_id": group}).sort("seq", 1).to_list()
    return [doc["seq"] for doc in docs]


async def test_seq_counts_per_group_without_gaps(database: Any) -> None:
    store = await new_store(database)
    batch = [submit("a", 1), submit("b", 1), submit("a", 2), submit("a", 3), submit("b", 2)]
    saved = await store.save(batch)
    expected = [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)]
    assert [(m.group_id, m.seq) for m in saved] == expected
    assert len({m.message_id for m in saved}) == 5
    assert await stored_seqs(database, "a") == [1, 2, 3]


async def test_a_restarted_worker_answers_duplicates_from_the_database(database: Any) -> None:
    first = await new_store(database)
    original = await first.save([submit("g", n) for n in range(1, 4)])

    restarted = await new_store(database)  # nothing cached: as after a crash
    mixed = [submit("g", 1), submit("g", 4), submit("g", 2), submit("g", 5), submit("g", 3)]
    answered = await restarted.save(mixed)

    assert [m.message_id for m in answered[0::2]] == [m.message_id for m in original]
    assert [m.seq for m in answered] == [1, 4, 2, 5, 3]
    assert answered[0] == original[0]
    assert await stored_seqs(database, "g") == [1, 2, 3, 4, 5]


async def test_a_repeat_within_one_batch_is_stored_once(database: Any) -> None:
    store = await new_store(database)
    saved = await store.save([submit("g", 1), submit("g", 1), submit("g", 1, sender="bob")])
    assert saved[0] == saved[1]
    assert saved[2].seq == 2
    assert await stored_seqs(database, "g") == [1, 2]


async def test_two_writers_of_one_group_never_share_a_seq(database: Any) -> None:
    """After a rebalance two workers may briefly both write a group: numbers stay unique."""
    left, right = await new_store(database), await new_store(database)
    await left.save([submit("g", 0)])
    await right.save([submit("g", 1)])  # right now knows position 1, left still 0 … 1
    results = await asyncio.gather(
        left.save([submit("g", n, sender="left") for n in range(10)]),
        right.save([submit("g", n, sender="right") for n in range(10)]),
    )
    seqs = [m.seq for batch in results for m in batch]
    assert len(set(seqs)) == 20
    assert await stored_seqs(database, "g") == list(range(1, 23))


async def test_a_lagging_recorded_position_is_repaired(database: Any) -> None:
    """A crash between storing messages and recording the position loses no number."""
    await database.groups.insert_one({"_id": "g", "last_seq": 0})
    store = await new_store(database)
    await store.save([submit("g", n) for n in range(1, 4)])
    await database.groups.update_one({"_id": "g"}, {"$set": {"last_seq": 1}})

    restarted = await new_store(database)
    saved = await restarted.save([submit("g", 2), submit("g", 4), submit("g", 5)])
    assert [m.seq for m in saved] == [2, 4, 5]
    assert await stored_seqs(database, "g") == [1, 2, 3, 4, 5]
    assert (await database.groups.find_one({"_id": "g"}))["last_seq"] == 5
