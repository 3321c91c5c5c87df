"""Read markers, unread counts and mentions through the real path: the marker is a fact, the
counts are kept by the projector, and every device of the reader hears of it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from gateway.settings import Settings
from records.requests import read_request
from tests.integration.message_path.conftest import (
    ChatClient,
    NewClient,
    Start,
    connected,
    create_group,
    whole_topic,
)


async def counts(client: ChatClient, group_id: str, want: dict[str, int]) -> dict[str, Any]:
    """The caller's entry for the group in ``groups``, once it shows ``want`` (the views
    trail the log by a moment)."""
    async with asyncio.timeout(15):
        while True:
            groups = {g["group_id"]: g for g in (await client.ok("groups"))["groups"]}
            entry = groups[group_id]
            if all(entry.get(key) == value for key, value in want.items()):
                return entry
            await asyncio.sleep(0.1)


async def send(client: ChatClient, group_id: str, n: int, body: str) -> dict[str, Any]:
    await client.ok("send", {"group_id": group_id, "client_msg_id": f"r{n}", "body": body})
    message: dict[str, Any] = await client.next_message()
    return message


async def test_markers_receipts_unread_and_mentions(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    first, second = await start_gateway(), await start_gateway()
    alice = await connected(new_client, first, token_for("alice"))
    group_id = await create_group(alice)
    bob = await connected(new_client, first, token_for("bob"))
    bob_phone = await connected(new_client, second, token_for("bob"))
    await bob.ok("join", {"group_id": group_id})
    await alice.next("member_joined")

    await send(alice, group_id, 1, "hello")
    mentioning = await send(alice, group_id, 2, "@bob look at this")
    await send(alice, group_id, 3, "and this")
    assert mentioning["mentions"] == ["user-bob"]
    # Bob's phone does not follow the group, and still hears he was named.
    mentioned = await bob_phone.next("mentioned")
    assert mentioned == {"group_id": group_id, "message_id": mentioning["message_id"],
                         "by": "alice", "by_id": "user-alice"}  # fmt: skip
    await counts(bob, group_id, {"last_read_seq": 0, "unread": 3, "mentions": 1})
    await counts(alice, group_id, {"unread": 0, "mentions": 0})  # her own messages

    reply = await bob.ok("read", {"group_id": group_id, "seq": 2})
    assert reply == {"ok": True, "group_id": group_id, "last_read_seq": 2}
    receipt = await alice.next("read")
    assert receipt == {"group_id": group_id, "user_id": "user-bob", "username": "bob", "seq": 2}
    assert (await bob_phone.next("read"))["seq"] == 2  # the reader's other device, elsewhere
    await counts(bob, group_id, {"last_read_seq": 2, "unread": 1, "mentions": 0})
    members = {m["user_id"]: m for m in (await alice.ok("members", {"group_id": group_id}))[
        "members"]}  # fmt: skip
    assert members["user-bob"]["last_read_seq"] == 2

    # Never backwards, never past the last message.
    assert (await bob.ok("read", {"group_id": group_id, "seq": 1}))["last_read_seq"] == 2
    assert (await bob.ok("read", {"group_id": group_id, "seq": 99}))["last_read_seq"] == 3
    await counts(bob, group_id, {"last_read_seq": 3, "unread": 0})

    stranger = await connected(new_client, first, token_for("mallory"))
    refused = await stranger.call("read", {"group_id": group_id, "seq": 1})
    assert refused["error"]["code"] == "not_a_member"


async def test_counts_follow_edits_and_deletes(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    bob = await connected(new_client, url, token_for("bob"))
    await bob.ok("join", {"group_id": group_id})
    one = await send(alice, group_id, 1, "plain")
    two = await send(alice, group_id, 2, "hey @bob")
    three = await send(alice, group_id, 3, "three")
    await counts(bob, group_id, {"unread": 3, "mentions": 1})

    await alice.ok("delete", {"message_id": three["message_id"]})
    await counts(bob, group_id, {"unread": 2, "mentions": 1})  # a deleted one is not unread
    await alice.ok("edit", {"message_id": two["message_id"], "body": "hey everyone"})
    await counts(bob, group_id, {"unread": 2, "mentions": 0})  # the mention was edited out
    await alice.ok("edit", {"message_id": one["message_id"], "body": "now @Bob too"})
    await counts(bob, group_id, {"unread": 2, "mentions": 1})
    await alice.ok("delete", {"message_id": one["message_id"]})
    await counts(bob, group_id, {"unread": 1, "mentions": 0})
    await bob.ok("read", {"group_id": group_id, "seq": 1})  # behind the deleted ones: recount
    await counts(bob, group_id, {"last_read_seq": 1, "unread": 1, "mentions": 0})


async def test_a_burst_of_reads_reaches_kafka_coalesced_and_the_last_one_wins(
    start_gateway: Start,
    new_client: NewClient,
    token_for: Callable[..., str],
    gateway_settings: Settings,
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    for n in range(1, 11):
        await send(alice, group_id, n, f"#{n}")
    replies = await asyncio.gather(
        *[alice.ok("read", {"group_id": group_id, "seq": seq}) for seq in range(1, 11)]
    )
    assert max(r["last_read_seq"] for r in replies) == 10
    await counts(alice, group_id, {"last_read_seq": 10})

    def is_marker(record: Any) -> bool:
        return b"ReadMarkRequested" in record.value and group_id.encode() in record.value

    # A later marker, acknowledged once on Kafka: a flush of the burst still due would be
    # on the group's partition before it.
    await send(alice, group_id, 11, "#11")
    assert (await alice.ok("read", {"group_id": group_id, "seq": 11}))["last_read_seq"] == 11
    requests = await whole_topic(gateway_settings, gateway_settings.topics.requests)
    markers = [read_request(r.value) for r in requests if is_marker(r)]
    *burst, later = [getattr(marker, "seq", None) for marker in markers]
    assert later == 11
    assert len(burst) <= 2 and max(burst) == 10, burst
