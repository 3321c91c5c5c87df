"""History with a cursor, and recovery on reconnect: every missed message, then live ones,
with no gap and no duplicate, even while messages are being saved."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.integration.message_path.conftest import (
    ChatClient,
    NewClient,
    Start,
    connected,
    create_group,
    messages_until,
    sent_before_a_marker,
)


async def send_many(client: ChatClient, group_id: str, numbers: range, prefix: str = "m") -> None:
    for n in numbers:
        await client.ok(
            "send", {"group_id": group_id, "client_msg_id": f"{prefix}{n}", "body": f"#{n}"}
        )


async def received(client: ChatClient, count: int) -> list[dict[str, Any]]:
    return [await client.next_message() for _ in range(count)]


async def test_history_pages_newest_first_with_a_cursor(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    await send_many(alice, group_id, range(1, 8))
    live = await received(alice, 7)

    pages: list[list[int]] = []
    before = None
    while True:
        query: dict[str, Any] = {"group_id": group_id, "limit": 3}
        if before is not None:
            query["before_seq"] = before
        page = await alice.ok("history", query)
        pages.append([m["seq"] for m in page["messages"]])
        before = page["next_before_seq"]
        if before is None:
            break
    assert pages == [[7, 6, 5], [4, 3, 2], [1]]
    newest = (await alice.ok("history", {"group_id": group_id, "limit": 1}))["messages"][0]
    assert newest == live[-1], "history returns messages as live delivery does"
    too_many = await alice.call("history", {"group_id": group_id, "limit": 101})
    assert too_many["error"]["code"] == "invalid_payload"


async def test_a_reconnecting_client_gets_what_it_missed_then_live(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    bob = await connected(new_client, url, token_for("bob"))
    await bob.ok("join", {"group_id": group_id})
    await send_many(alice, group_id, range(1, 4))
    assert [m["seq"] for m in await received(bob, 3)] == [1, 2, 3]
    await bob.sio.disconnect()

    await send_many(alice, group_id, range(4, 7))
    await received(alice, 6)
    bob = await connected(new_client, url, token_for("bob"))
    reply = await bob.ok("join", {"group_id": group_id, "since_seq": 3})
    assert reply["last_seq"] == 6
    await send_many(alice, group_id, range(7, 9))
    seqs = [m["seq"] for m in await received(bob, 5)]
    assert seqs == [4, 5, 6, 7, 8]
    assert await sent_before_a_marker(alice, group_id, bob) == [[]], "one came twice"


async def test_recovery_has_no_gap_and_no_duplicate_while_messages_are_saved(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    """Bob rejoins from seq 20 while Alice keeps sending: every later message, exactly once."""
    flood = {"send_rate": 1000.0, "send_burst": 1000}  # Alice sends faster than a person may
    first_node, second_node = await start_gateway(**flood), await start_gateway(**flood)
    alice = await connected(new_client, first_node, token_for("alice"))
    group_id = await create_group(alice)
    bob_before = await connected(new_client, second_node, token_for("bob"))
    await bob_before.ok("join", {"group_id": group_id})
    await bob_before.sio.disconnect()
    await send_many(alice, group_id, range(1, 21))

    total = 220
    sending = asyncio.create_task(send_many(alice, group_id, range(21, total + 1)))
    await messages_until(alice, "m30")  # the flood is under way
    bob = await connected(new_client, second_node, token_for("bob"))
    await bob.ok("join", {"group_id": group_id, "since_seq": 20})
    await sending
    seqs = [m["seq"] for m in await received(bob, total - 20)]
    assert seqs == list(range(21, total + 1))
    assert await sent_before_a_marker(alice, group_id, bob) == [[]], "one came twice"


async def test_joining_from_the_latest_seq_gets_only_live_messages(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    await send_many(alice, group_id, range(1, 3))
    await received(alice, 2)
    bob = await connected(new_client, url, token_for("bob"))
    await bob.ok("join", {"group_id": group_id, "since_seq": 2})
    await send_many(alice, group_id, range(3, 4))
    assert [m["seq"] for m in await received(bob, 1)] == [3]


async def test_a_long_absence_is_caught_up_in_bounded_steps_then_live(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    """More missed than a join sends: the first ``catch_up_limit`` come with the join, the
    rest by ``history`` + ``after_seq`` oldest first, then a second join goes live."""
    url = await start_gateway(catch_up_limit=5)
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    bob = await connected(new_client, url, token_for("bob"))
    await bob.ok("join", {"group_id": group_id})
    await bob.sio.disconnect()
    await send_many(alice, group_id, range(1, 13))

    bob = await connected(new_client, url, token_for("bob"))
    first = await bob.ok("join", {"group_id": group_id, "since_seq": 0})
    assert (first["more"], first["last_seq"]) == (True, 5)
    assert [m["seq"] for m in await received(bob, 5)] == [1, 2, 3, 4, 5]
    page = await bob.ok("history", {"group_id": group_id, "after_seq": 5, "limit": 4})
    assert [m["seq"] for m in page["messages"]] == [6, 7, 8, 9]
    assert page["next_after_seq"] == 9
    rest = await bob.ok("history", {"group_id": group_id, "after_seq": 9, "limit": 4})
    assert [m["seq"] for m in rest["messages"]] == [10, 11, 12]
    assert rest["next_after_seq"] is None
    # Not following yet: nothing live comes meanwhile, so 13 comes once, with the last join.
    await alice.ok("send", {"group_id": group_id, "client_msg_id": "m13", "body": "#13"})
    await messages_until(alice, "m13")  # the node has read it
    last = await bob.ok("join", {"group_id": group_id, "since_seq": 12})
    assert (last["more"], last["last_seq"]) == (False, 13)
    await alice.ok("send", {"group_id": group_id, "client_msg_id": "m14", "body": "#14"})
    assert [m["seq"] for m in await messages_until(bob, "m14")] == [13, 14]
    refused = await bob.call("history", {"group_id": group_id, "after_seq": 1, "before_seq": 5})
    assert refused["error"]["code"] == "invalid_payload"
