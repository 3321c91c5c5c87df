"""Reactions end to end: toggled by members, told to every member in order with edits and
deletes, counted the same live, in history and after a reconnect; and refused when they must be."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.integration.message_path.conftest import (
    ChatClient,
    NewClient,
    Start,
    connected,
    create_group,
    in_a_group,
    people,
    sent_before_a_marker,
)

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
"""Man, woman, girl, boy, joined (ZWJ): one emoji of seven code points."""


async def first_message(sender: ChatClient, group_id: str, *readers: ChatClient) -> str:
    await sender.ok("send", {"group_id": group_id, "client_msg_id": "m1", "body": "hello"})
    for reader in readers:
        message = await reader.next_message()
        assert message["reactions"] == [] and message["reply_to"] is None
    return str(message["message_id"])


def counts(message: dict[str, Any]) -> dict[str, int]:
    return {r["emoji"]: r["count"] for r in message["reactions"]}


async def test_reactions_toggle_and_every_member_sees_them_in_order(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    ann_name, bob_name = people("ann", "bob")
    group_id, (ann, bob) = await in_a_group(new_client, url, token_for, ann_name, bob_name)
    message_id = await first_message(ann, group_id, ann, bob)

    reply = await bob.ok("react", {"message_id": message_id, "emoji": "👍"})
    assert reply == {"ok": True, "message_id": message_id, "emoji": "👍", "reacted": True}
    expected = {
        "group_id": group_id, "message_id": message_id, "seq": 1, "emoji": "👍",
        "user_id": f"user-{bob_name}", "username": bob_name, "reacted": True, "count": 1,
        "change": 1,
    }  # fmt: skip
    assert await ann.next("reaction") == expected
    assert await bob.next("reaction") == expected

    await ann.ok("react", {"message_id": message_id, "emoji": "👍"})
    for client in (ann, bob):
        seen = await client.next("reaction")
        assert (seen["user_id"], seen["count"], seen["change"]) == (f"user-{ann_name}", 2, 2)
    taken_back = await bob.ok("react", {"message_id": message_id, "emoji": "👍"})
    assert taken_back["reacted"] is False
    for client in (ann, bob):
        seen = await client.next("reaction")
        assert (seen["reacted"], seen["count"], seen["change"]) == (False, 1, 3)
    # An edit after them is numbered after them.
    await ann.ok("edit", {"message_id": message_id, "body": "hello again"})
    assert (await bob.next("message_edited"))["change"] == 4

    (message,) = (await bob.ok("history", {"group_id": group_id}))["messages"]
    assert message["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [f"user-{ann_name}"]}]
    (listed,) = [g for g in (await bob.ok("groups"))["groups"] if g["group_id"] == group_id]
    assert listed["unread"] == 1, "a reaction is not a message: nothing more to read"
    # Each reaction once: nothing more came before a later message.
    assert await sent_before_a_marker(ann, group_id, ann, bob) == [[], []]
    assert ann.taken("reaction") == [] and bob.taken("reaction") == []


async def test_a_client_that_was_away_gets_the_reactions_it_missed(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    ann_name, bob_name = people("ann", "bob")
    group_id, (ann, bob) = await in_a_group(new_client, url, token_for, ann_name, bob_name)
    message_id = await first_message(ann, group_id, ann, bob)
    await bob.ok("react", {"message_id": message_id, "emoji": "🎉"})
    assert (await bob.next("reaction"))["change"] == 1
    await bob.sio.disconnect()

    await ann.ok("react", {"message_id": message_id, "emoji": "🎉"})
    await ann.ok("react", {"message_id": message_id, "emoji": "❤️"})
    await ann.ok("react", {"message_id": message_id, "emoji": "🎉"})  # taken back
    missed = [await ann.next("reaction") for _ in range(4)][1:]
    live_counts = {r["emoji"]: r["count"] for r in missed}
    assert live_counts == {"🎉": 1, "❤️": 1}

    bob = await connected(new_client, url, token_for(bob_name))
    back = await bob.ok("join", {"group_id": group_id, "since_seq": 1, "since_change": 1})
    assert back["last_change"] == 4
    caught_up = [await bob.next("reaction") for _ in range(3)]
    assert caught_up == missed, "the same events as live, in order"
    (message,) = (await bob.ok("history", {"group_id": group_id}))["messages"]
    assert counts(message) == live_counts
    assert message["reactions"][0]["user_ids"] == [f"user-{bob_name}"]


async def test_a_reaction_is_one_emoji_and_a_message_takes_twenty(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway(reaction_burst=100)
    ann_name, eve_name = people("ann", "eve")
    ann = await connected(new_client, url, token_for(ann_name))
    eve = await connected(new_client, url, token_for(eve_name))
    group_id = await create_group(ann)
    message_id = await first_message(ann, group_id, ann)

    for wrong in ("👍👍", "a", "", "hi 👍", "1"):
        refused = await ann.call("react", {"message_id": message_id, "emoji": wrong})
        assert refused["error"]["code"] == "invalid_emoji", wrong
    malformed = await ann.call("react", {"message_id": message_id, "emoji": 7})
    assert malformed["error"]["code"] == "invalid_payload"

    accepted = ["👍🏽", FAMILY, "🇫🇷", "❤️"]  # a skin tone, a ZWJ family, a flag, a VS16
    accepted += [chr(0x1F600 + n) for n in range(20 - len(accepted))]
    for emoji in accepted:
        assert (await ann.ok("react", {"message_id": message_id, "emoji": emoji}))["reacted"]
    too_many = await ann.call("react", {"message_id": message_id, "emoji": "🚀"})
    assert too_many["error"]["code"] == "too_many_reactions"
    (message,) = (await ann.ok("history", {"group_id": group_id}))["messages"]
    assert [r["emoji"] for r in message["reactions"]] == accepted

    missing = await ann.call("react", {"message_id": f"{group_id}:99", "emoji": "👍"})
    assert missing["error"]["code"] == "message_not_found"
    outsider = await eve.call("react", {"message_id": message_id, "emoji": "👍"})
    assert outsider["error"]["code"] == "not_a_member"
    nowhere = await eve.call("react", {"message_id": "no-such-group:1", "emoji": "👍"})
    assert nowhere["error"]["code"] == "group_not_found"

    await ann.ok("delete", {"message_id": message_id})
    gone = await ann.call("react", {"message_id": message_id, "emoji": "🚀"})
    assert gone["error"]["code"] == "message_deleted"
    (tombstone,) = (await ann.ok("history", {"group_id": group_id}))["messages"]
    assert (tombstone["deleted"], tombstone["reactions"]) == (True, [])
