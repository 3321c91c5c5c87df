"""Direct conversations and blocks through the real path: one private group of two, whoever
opens it and however often; the one who left comes back when the other writes; a block
stops both from writing, survives a replay, and is undone by an unblock."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from agents.replay import replay
from infra.services import start_agents_worker
from records.direct import direct_group_id
from records.requests import BlockUser, OpenDirect, SendMessage, UnblockUser
from records.views import group_view, user_view
from tests.integration.message_path.conftest import (
    ChatClient,
    NewClient,
    Start,
    connected,
    own_agents,
    read_topic,
    sent_before_a_marker,
    sign_up,
)
from tests.integration.message_path.test_replay import snapshot
from tests.integration.servers import Servers


@dataclass
class Person:
    user_id: str
    username: str
    client: ChatClient

    @property
    def as_peer(self) -> dict[str, str]:
        return {"user_id": self.user_id, "username": self.username}


async def person(auth_url: str, url: str, new_client: NewClient, name: str) -> Person:
    """Someone signed up at the real auth service (so ``direct`` finds them), connected."""
    username = f"{name}_{secrets.token_hex(3)}"
    user_id, token = await sign_up(auth_url, username)
    return Person(user_id, username, await connected(new_client, url, token))


async def listed(client: ChatClient, group_id: str, want: dict[str, Any]) -> dict[str, Any]:
    """The caller's entry for the group in ``groups``, once it is there and shows ``want``
    (the views trail the log by a moment)."""
    async with asyncio.timeout(15):
        while True:
            groups = {g["group_id"]: g for g in (await client.ok("groups"))["groups"]}
            entry = groups.get(group_id)
            if entry is not None and all(entry.get(k) == v for k, v in want.items()):
                return entry
            await asyncio.sleep(0.1)


async def say(client: ChatClient, group_id: str, body: str) -> dict[str, Any]:
    """Send ``body`` (its own ``client_msg_id``); the acknowledgement, ok or not."""
    client_msg_id = secrets.token_hex(6)
    reply: dict[str, Any] = await client.call(
        "send", {"group_id": group_id, "client_msg_id": client_msg_id, "body": body}
    )
    return reply


def code(reply: dict[str, Any]) -> str:
    assert reply.get("ok") is False, reply
    return str(reply["error"]["code"])


async def test_a_conversation_is_one_whoever_opens_it_and_works_as_a_group(
    auth_url: str, start_gateway: Start, new_client: NewClient
) -> None:
    url = await start_gateway(auth_service_url=auth_url)
    ann = await person(auth_url, url, new_client, "ann")
    bob = await person(auth_url, url, new_client, "bob")
    dm = direct_group_id(ann.user_id, bob.user_id)

    opened = await ann.client.ok("direct", {"username": bob.username})
    assert (opened["group_id"], opened["peer"]) == (dm, bob.as_peer)
    assert await bob.client.next("direct_opened") == {"group_id": dm, "peer": ann.as_peer}
    assert await ann.client.next("direct_opened") == {"group_id": dm, "peer": bob.as_peer}
    again = await bob.client.ok("direct", {"user_id": ann.user_id})
    assert (again["group_id"], again["peer"]) == (dm, ann.as_peer)

    # Both sockets follow it from their ``direct``: a message reaches both at once.
    assert (await say(ann.client, dm, "hello"))["ok"] is True
    for someone in (ann, bob):
        assert (await someone.client.next_message())["body"] == "hello"
    entry = await listed(bob.client, dm, {"unread": 1})
    assert (entry["direct"], entry["peer"], entry["name"], entry["private"]) == (
        True, ann.as_peer, ann.username, True
    )  # fmt: skip
    history = await bob.client.ok("history", {"group_id": dm})
    assert [m["body"] for m in history["messages"]] == ["hello"]
    await bob.client.ok("read", {"group_id": dm, "seq": 1})
    await listed(bob.client, dm, {"unread": 0, "last_read_seq": 1})
    members = (await ann.client.ok("members", {"group_id": dm}))["members"]
    assert {m["user_id"] for m in members} == {ann.user_id, bob.user_id}
    assert (await listed(ann.client, dm, {}))["name"] == bob.username
    for query in ("", ann.username, bob.username):
        found = (await ann.client.ok("find_groups", {"query": query}))["groups"]
        assert dm not in [g["group_id"] for g in found]


async def test_opened_at_once_on_two_nodes_it_begins_once(
    auth_url: str, start_gateway: Start, new_client: NewClient
) -> None:
    first_node = await start_gateway(auth_service_url=auth_url)
    second_node = await start_gateway(auth_service_url=auth_url)
    ann = await person(auth_url, first_node, new_client, "ann")
    bob = await person(auth_url, second_node, new_client, "bob")

    replies = await asyncio.gather(
        ann.client.ok("direct", {"username": bob.username}),
        bob.client.ok("direct", {"username": ann.username}),
    )
    dm = direct_group_id(ann.user_id, bob.user_id)
    assert [reply["group_id"] for reply in replies] == [dm, dm]
    for someone in (ann, bob):
        groups = (await someone.client.ok("groups"))["groups"]
        assert [g["group_id"] for g in groups if g["direct"]] == [dm]
    assert len((await ann.client.ok("members", {"group_id": dm}))["members"]) == 2
    # The node delivers the conversation's facts in order: once the marker is in, every
    # ``direct_opened`` it was to get is too. One beginning, so one each.
    await sent_before_a_marker(ann.client, dm, ann.client, bob.client)
    assert len(ann.client.taken("direct_opened")) == 1
    assert len(bob.client.taken("direct_opened")) == 1


async def test_only_the_two_are_ever_in_it(
    auth_url: str, start_gateway: Start, new_client: NewClient
) -> None:
    url = await start_gateway(auth_service_url=auth_url)
    ann = await person(auth_url, url, new_client, "ann")
    bob = await person(auth_url, url, new_client, "bob")
    cat = await person(auth_url, url, new_client, "cat")
    dm = (await ann.client.ok("direct", {"username": bob.username}))["group_id"]

    assert code(await cat.client.call("join", {"group_id": dm})) == "not_allowed"
    invite = {"group_id": dm, "username": cat.username}
    assert code(await ann.client.call("invite", invite)) == "not_allowed"
    remove = {"group_id": dm, "user_id": bob.user_id}
    assert code(await ann.client.call("remove_member", remove)) == "not_allowed"
    assert code(await ann.client.call("revoke", remove)) == "not_allowed"
    assert code(await cat.client.call("decline", {"group_id": dm})) == "not_allowed"
    assert code(await cat.client.call("send", {"group_id": dm, "client_msg_id": "x",
                                               "body": "hi"})) == "not_a_member"  # fmt: skip
    for yourself in ({"username": ann.username}, {"user_id": ann.user_id}):
        assert code(await ann.client.call("direct", yourself)) == "not_allowed"
    assert code(await ann.client.call("block", {"user_id": ann.user_id})) == "not_allowed"
    nobody = {"username": f"nobody_{secrets.token_hex(3)}"}
    assert code(await ann.client.call("direct", nobody)) == "user_not_found"
    assert code(await ann.client.call("block", {"user_id": "no-such-id"})) == "user_not_found"
    for bad in ({}, {"username": bob.username, "user_id": bob.user_id}, {"username": 7}):
        assert code(await ann.client.call("direct", bad)) == "invalid_payload"
    assert code(await ann.client.call("block", {})) == "invalid_payload"


async def test_direct_has_a_bucket_of_its_own(
    auth_url: str, start_gateway: Start, new_client: NewClient
) -> None:
    url = await start_gateway(auth_service_url=auth_url, direct_rate=0.01, direct_burst=1)
    ann = await person(auth_url, url, new_client, "ann")
    bob = await person(auth_url, url, new_client, "bob")
    await ann.client.ok("direct", {"username": bob.username})
    assert code(await ann.client.call("direct", {"username": bob.username})) == "rate_limited"
    await ann.client.ok("groups")  # the other buckets untouched


async def test_the_one_who_left_is_back_when_the_other_writes(
    auth_url: str, start_gateway: Start, new_client: NewClient
) -> None:
    url = await start_gateway(auth_service_url=auth_url)
    ann = await person(auth_url, url, new_client, "ann")
    bob = await person(auth_url, url, new_client, "bob")
    dm = (await ann.client.ok("direct", {"username": bob.username}))["group_id"]
    assert (await bob.client.next("direct_opened"))["group_id"] == dm
    await say(ann.client, dm, "first")
    await ann.client.next_message()
    await bob.client.ok("join", {"group_id": dm})
    await bob.client.ok("leave", {"group_id": dm})
    assert (await ann.client.next("member_left"))["user_id"] == bob.user_id
    assert dm not in [g["group_id"] for g in (await bob.client.ok("groups"))["groups"]]

    assert (await say(ann.client, dm, "are you there?"))["ok"] is True
    assert (await ann.client.next("member_joined"))["user_id"] == bob.user_id
    # Bob's sockets are told at once, as when it began: it is back in his list.
    assert await bob.client.next("direct_opened") == {"group_id": dm, "peer": ann.as_peer}
    entry = await listed(bob.client, dm, {"unread": 1})
    assert (entry["last_read_seq"], entry["last_seq"], entry["peer"]) == (1, 2, ann.as_peer)
    joined = await bob.client.ok("join", {"group_id": dm, "since_seq": 1})
    assert joined["last_seq"] == 2
    assert (await bob.client.next_message())["body"] == "are you there?"
    # Left again, Bob comes back by ``direct`` himself, with nothing unread.
    await bob.client.ok("leave", {"group_id": dm})
    await bob.client.ok("direct", {"user_id": ann.user_id})
    await listed(bob.client, dm, {"unread": 0, "last_read_seq": 2})


async def test_a_block_stops_both_writing_until_it_is_undone(
    auth_url: str, start_gateway: Start, new_client: NewClient
) -> None:
    url = await start_gateway(auth_service_url=auth_url)
    ann = await person(auth_url, url, new_client, "ann")
    bob = await person(auth_url, url, new_client, "bob")
    dm = (await ann.client.ok("direct", {"username": bob.username}))["group_id"]
    await bob.client.ok("join", {"group_id": dm})
    await say(ann.client, dm, "before")
    message_id = (await bob.client.next_message())["message_id"]
    await ann.client.next_message()

    blocked = await ann.client.ok("block", {"user_id": bob.user_id})
    assert (blocked["user_id"], blocked["blocked"]) == (bob.user_id, True)
    assert await ann.client.next("block_changed") == {**bob.as_peer, "blocked": True}
    assert (await ann.client.ok("blocked"))["blocked"] == [bob.as_peer]  # at once
    refused = await say(bob.client, dm, "let me in")
    assert (code(refused), refused["error"]["message"]) == (
        "blocked", "you cannot write to this person"
    )  # fmt: skip
    assert "unblock" in (await say(ann.client, dm, "me neither"))["error"]["message"]
    reaction = {"message_id": message_id, "emoji": "👍"}
    assert code(await bob.client.call("react", reaction)) == "blocked"
    assert code(await bob.client.call("typing", {"group_id": dm})) == "blocked"
    assert code(await bob.client.call("direct", {"user_id": ann.user_id})) == "blocked"
    await bob.client.ok("leave", {"group_id": dm})
    assert code(await bob.client.call("join", {"group_id": dm})) == "blocked"
    assert (await bob.client.ok("blocked"))["blocked"] == []

    unblocked = await ann.client.ok("unblock", {"user_id": bob.user_id})
    assert (unblocked["user_id"], unblocked["blocked"]) == (bob.user_id, False)
    assert await ann.client.next("block_changed") == {**bob.as_peer, "blocked": False}
    assert (await ann.client.ok("blocked"))["blocked"] == []
    await bob.client.ok("direct", {"user_id": ann.user_id})
    # Writing works again; and Bob, the blocked one, was never told of the block: had he
    # been, it would have come before the marker.
    assert await sent_before_a_marker(bob.client, dm, ann.client, bob.client) == [[], []]
    assert bob.client.nothing_more("block_changed")


async def test_a_block_survives_a_replay(
    servers: Servers,
    start_gateway: Start,
    new_client: NewClient,
    token_for: Callable[..., str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings, env = own_agents(servers, "direct")
    ann = {"actor_id": "user-ann", "actor": "ann"}
    dm = direct_group_id("user-ann", "user-bob")
    with_cat = direct_group_id("user-ann", "user-cat")
    story = [
        # Cat: blocked before any conversation with him, unblocked, blocked again.
        *[
            kind(group_id=with_cat, user_id="user-cat", username="cat", **ann)
            for kind in (BlockUser, UnblockUser, BlockUser)
        ],
        OpenDirect(group_id=dm, peer_id="user-bob", peer="bob", **ann),
        SendMessage(group_id=dm, client_msg_id="m1", body="hi", **ann),
        BlockUser(group_id=dm, user_id="user-bob", username="bob", **ann),
    ]
    worker = await asyncio.to_thread(
        start_agents_worker, env, tmp_path_factory.mktemp("direct") / "agents.log"
    )
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb_uri, tz_aware=True)
    database = client[settings.mongodb_database]
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        for request in story:
            await producer.send_and_wait(
                settings.topics.requests, request.to_bytes(), key=request.group_id.encode()
            )
        # Every fact committed, then the last one's views written (the log has one
        # partition, projected in order: the views then hold the whole story).
        await read_topic(servers, settings.topics.events, lambda r: True, len(story))
        async with asyncio.timeout(30):
            while True:
                user = await user_view(database, "user-ann").find_one({"_id": "user-ann"}) or {}
                if "user-bob" in user.get("blocked", {}):
                    break
                await asyncio.sleep(0.05)
    finally:
        await producer.stop()
        await asyncio.to_thread(worker.stop)

    try:
        before = await snapshot(database)
        await replay(settings)
        after = await snapshot(database)
        # (The live projector makes ``public_groups`` with its index, empty here; a replay
        # makes it only for a public group.)
        assert {k: v for k, v in after.items() if v} == {k: v for k, v in before.items() if v}
        conversation = await group_view(database, dm).find_one({"_id": dm}) or {}
        assert conversation["blocked_by"] == ["user-ann"]
        assert conversation["direct"] == {"user-ann": "ann", "user-bob": "bob"}

        # A gateway on the rebuilt views: the conversation listed as such, the blocks kept.
        url = await start_gateway(
            mongodb_database=settings.mongodb_database, topic_prefix=settings.topic_prefix
        )
        ann_client = await connected(new_client, url, token_for("ann"))
        bob_client = await connected(new_client, url, token_for("bob"))
        (entry,) = (await ann_client.ok("groups"))["groups"]
        assert (entry["group_id"], entry["direct"], entry["name"], entry["peer"]) == (
            dm, True, "bob", {"user_id": "user-bob", "username": "bob"}
        )  # fmt: skip
        assert (await ann_client.ok("blocked"))["blocked"] == [
            {"user_id": "user-bob", "username": "bob"},
            {"user_id": "user-cat", "username": "cat"},
        ]
        assert code(await say(bob_client, dm, "still?")) == "blocked"
    finally:
        await client.drop_database(settings.mongodb_database)
        await client.close()
