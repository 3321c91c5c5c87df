"""Replies end to end: a reply quotes its original as it is now (live, in history, caught up,
on a node that never read the original, after a replay), an edit of the original shows in the
quote and a delete empties it; a reply to a message not in its group is refused."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from agents.replay import replay
from gateway.readmodel import ReadModel
from infra.services import start_agents_worker
from records.requests import (
    AnyRequest,
    CreateGroup,
    DeleteMessage,
    EditMessage,
    JoinGroup,
    SendMessage,
    ToggleReaction,
)
from tests.integration.message_path.conftest import (
    NewClient,
    Start,
    connected,
    create_group,
    in_a_group,
    own_agents,
    people,
    read_topic,
)
from tests.integration.message_path.test_replay import projected, snapshot
from tests.integration.servers import Servers


async def test_a_reply_quotes_its_original_live_in_history_and_caught_up(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    ann_name, bob_name, cat_name = people("ann", "bob", "cat")
    group_id, (ann, bob) = await in_a_group(new_client, url, token_for, ann_name, bob_name)
    await ann.ok("send", {"group_id": group_id, "client_msg_id": "q", "body": "lunch at noon?"})
    original = await bob.next_message()
    assert await ann.next_message() == original
    # A node that starts now has not read the original: it quotes it from the views.
    later = await start_gateway(quote_cache_size=0)
    cat = await connected(new_client, later, token_for(cat_name))
    await cat.ok("join", {"group_id": group_id})

    send = {"group_id": group_id, "client_msg_id": "r", "body": "yes!",
            "reply_to": original["message_id"]}  # fmt: skip
    await bob.ok("send", send)
    quoted = {
        "message_id": original["message_id"], "seq": 1, "sender_id": f"user-{ann_name}",
        "sender": ann_name, "snippet": "lunch at noon?", "deleted": False,
    }  # fmt: skip
    for client in (ann, bob, cat):
        reply = await client.next_message()
        assert (reply["seq"], reply["reply_to"]) == (2, quoted), client
    history = (await cat.ok("history", {"group_id": group_id}))["messages"]
    assert [m["reply_to"] for m in history] == [quoted, None]

    # Caught up on a join, the same quote.
    dan = await connected(new_client, url, token_for(f"dan{uuid.uuid4().hex[:6]}"))
    await dan.ok("join", {"group_id": group_id, "since_seq": 0})
    caught_up = [await dan.next_message() for _ in range(2)]
    assert caught_up[1]["reply_to"] == quoted


async def test_an_edit_and_a_delete_of_the_original_show_in_its_quotes(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    ann_name, bob_name = people("ann", "bob")
    group_id, (ann, bob) = await in_a_group(new_client, url, token_for, ann_name, bob_name)
    long_body = "word " * 40
    await ann.ok("send", {"group_id": group_id, "client_msg_id": "q", "body": long_body})
    original_id = (await bob.next_message())["message_id"]

    def reply(n: int) -> dict[str, Any]:
        return {"group_id": group_id, "client_msg_id": f"r{n}", "body": f"reply {n}",
                "reply_to": original_id}  # fmt: skip

    await bob.ok("send", reply(1))
    assert (await bob.next_message())["reply_to"]["snippet"] == long_body[:100]
    await ann.ok("edit", {"message_id": original_id, "body": "edited words"})
    await bob.next("message_edited")
    await bob.ok("send", reply(2))
    assert (await bob.next_message())["reply_to"]["snippet"] == "edited words", "live, as now"
    history = (await bob.ok("history", {"group_id": group_id}))["messages"]
    assert [m["reply_to"]["snippet"] for m in history[:2]] == ["edited words"] * 2

    await ann.ok("delete", {"message_id": original_id})
    await bob.next("message_deleted")
    history = (await bob.ok("history", {"group_id": group_id}))["messages"]
    deleted = {
        "message_id": original_id, "seq": 1, "sender_id": f"user-{ann_name}",
        "sender": ann_name, "deleted": True,
    }  # fmt: skip
    assert [m["reply_to"] for m in history] == [deleted, deleted, None]
    await bob.ok("send", reply(3))
    rejected = await bob.next("message_rejected")
    assert (rejected["client_msg_id"], rejected["error"]["code"]) == ("r3", "message_deleted")


async def test_a_reply_to_a_message_not_in_its_group_is_refused(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    (ann_name,) = people("ann")
    ann = await connected(new_client, url, token_for(ann_name))
    group_id = await create_group(ann)
    elsewhere = await create_group(ann, name="elsewhere")
    await ann.ok("send", {"group_id": elsewhere, "client_msg_id": "x", "body": "there"})
    there = await ann.next_message()

    foreign = await ann.call("send", {"group_id": group_id, "client_msg_id": "r1", "body": "hi",
                                      "reply_to": there["message_id"]})  # fmt: skip
    assert foreign["error"]["code"] == "message_not_found"
    await ann.ok("send", {"group_id": group_id, "client_msg_id": "r2", "body": "hi",
                          "reply_to": f"{group_id}:7"})  # fmt: skip
    rejected = await ann.next("message_rejected")
    assert (rejected["client_msg_id"], rejected["error"]["code"]) == ("r2", "message_not_found")
    bad = await ann.call("send", {"group_id": group_id, "client_msg_id": "r3", "body": "hi",
                                  "reply_to": "not an id"})  # fmt: skip
    assert bad["error"]["code"] == "invalid_payload"


def story(group: str) -> list[AnyRequest]:
    """A group's talk with replies and reactions; an original edited, another deleted."""
    ann: dict[str, Any] = {"actor_id": "ann", "actor": "Ann"}
    bob: dict[str, Any] = {"actor_id": "bob", "actor": "Bob"}

    def say(who: dict[str, Any], n: int, reply_to: int | None = None) -> SendMessage:
        answers = f"{group}:{reply_to}" if reply_to else None
        return SendMessage(group_id=group, client_msg_id=f"m{n}", body=f"#{n}",
                           reply_to=answers, **who)  # fmt: skip

    def react(who: dict[str, Any], seq: int, emoji: str) -> ToggleReaction:
        return ToggleReaction(group_id=group, message_id=f"{group}:{seq}", emoji=emoji, **who)

    return [
        CreateGroup(group_id=group, name="talk", private=False, **ann),
        JoinGroup(group_id=group, **bob),
        say(ann, 1), say(bob, 2, reply_to=1), say(ann, 3), say(bob, 4, reply_to=3),
        react(bob, 1, "👍"), react(ann, 1, "👍"), react(bob, 3, "🎉"), react(ann, 1, "👍"),
        EditMessage(group_id=group, message_id=f"{group}:1", body="#1 edited", **ann),
        DeleteMessage(group_id=group, message_id=f"{group}:3", **ann),
    ]  # fmt: skip


async def test_a_replay_gives_the_same_quotes_and_reactions(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings, env = own_agents(servers, "replies")
    group = f"talk-{settings.app_id.rsplit('-', 1)[-1]}"
    expected_facts = 12  # created, joined, 4 saved, 4 reactions, edited, deleted
    worker = await asyncio.to_thread(
        start_agents_worker, env, tmp_path_factory.mktemp("replies") / "agents.log"
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb_uri, tz_aware=True)
    database = client[settings.mongodb_database]
    try:
        for request in story(group):
            await producer.send_and_wait(
                settings.topics.requests, request.to_bytes(), key=request.group_id.encode()
            )
        facts = await read_topic(servers, settings.topics.events, lambda r: True, expected_facts)
        await projected(database, {group: {"last_seq": 4, "last_change": 6, "version": 2}})
    finally:
        await producer.stop()
        await asyncio.to_thread(worker.stop)
    assert len(facts) == expected_facts

    reads = ReadModel(database)
    try:
        before, history = await snapshot(database), await messages(reads, group)
        report = await replay(settings)
        after, history_after = await snapshot(database), await messages(reads, group)
    finally:
        await reads.close()
        await client.drop_database(settings.mongodb_database)
        await client.close()

    assert (report.facts, report.unreadable) == (expected_facts, 0)
    assert after == before and history_after == history
    by_seq = {m["seq"]: m for m in history}
    assert by_seq[2]["reply_to"]["snippet"] == "#1 edited"
    assert by_seq[4]["reply_to"]["deleted"] is True and "snippet" not in by_seq[4]["reply_to"]
    assert by_seq[1]["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": ["bob"]}]
    assert by_seq[3]["reactions"] == [], "a deleted message has none"


async def messages(reads: ReadModel, group: str) -> list[dict[str, Any]]:
    return [m async for m in reads.messages_between(group, 1, 4)]
