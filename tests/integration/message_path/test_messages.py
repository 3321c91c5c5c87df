"""The whole message path on real servers: gateway → Kafka → agent → MongoDB → Kafka → gateway."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer

from gateway.settings import Settings
from records.base import MAX_BODY_CHARS
from records.facts import MessageSaved, read_fact
from records.requests import CreateGroup, SendMessage
from tests.integration.message_path.conftest import (
    ChatClient,
    NewClient,
    Start,
    connected,
    create_group,
    read_topic,
    sent_before_a_marker,
    stored_messages,
)
from tests.integration.servers import Servers

MESSAGE_FIELDS = {
    "message_id", "group_id", "seq", "sender_id", "sender", "body", "client_msg_id", "saved_at",
    "edited_at", "deleted", "mentions", "reactions", "reply_to",
}  # fmt: skip


async def joined(new_client: NewClient, url: str, token: str, group_id: str) -> ChatClient:
    client = await connected(new_client, url, token)
    reply = await client.call("join", {"group_id": group_id})
    assert reply["ok"] is True and reply["group_id"] == group_id, reply
    return client


async def create_directly(producer: AIOKafkaProducer, topic: str, group_id: str) -> None:
    """A public group whose one member is ``user-zoe``, requested straight on Kafka."""
    request = CreateGroup(
        group_id=group_id, actor_id="user-zoe", actor="zoe", name="direct", private=False
    )
    await producer.send_and_wait(topic, request.to_bytes(), key=group_id.encode())


def saved_in(group_id: str) -> Callable[[Any], bool]:
    return lambda r: r.key == group_id.encode() and b'"MessageSaved"' in r.value


async def test_members_receive_each_message_in_order(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str], mongo: Any
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    bob = await joined(new_client, url, token_for("bob"), group_id)

    for n in range(1, 4):
        ack = await alice.call(
            "send", {"group_id": group_id, "client_msg_id": f"c{n}", "body": f"hello {n}"}
        )
        assert ack == {"ok": True, "client_msg_id": f"c{n}"}

    seen_by_alice = [await alice.next_message() for _ in range(3)]
    seen_by_bob = [await bob.next_message() for _ in range(3)]
    assert seen_by_alice == seen_by_bob
    assert [m["seq"] for m in seen_by_bob] == [1, 2, 3]
    assert [m["body"] for m in seen_by_bob] == ["hello 1", "hello 2", "hello 3"]
    first = seen_by_bob[0]
    assert set(first) == MESSAGE_FIELDS
    assert (first["group_id"], first["sender"], first["sender_id"], first["client_msg_id"]) == (
        group_id, "alice", "user-alice", "c1"
    )  # fmt: skip
    assert first["message_id"] == f"{group_id}:1"

    stored = await stored_messages(mongo, group_id, 3)
    assert [(d["seq"], d["message_id"], d["body"]) for d in stored] == [
        (m["seq"], m["message_id"], m["body"]) for m in seen_by_bob
    ]


async def test_a_non_member_receives_nothing_and_cannot_send(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    eve = await connected(new_client, url, token_for("eve"))

    refused = await eve.call("send", {"group_id": group_id, "client_msg_id": "e1", "body": "hi"})
    assert refused["ok"] is False
    assert refused["error"]["code"] == "not_a_member"
    assert refused["client_msg_id"] == "e1"

    await alice.ok("send", {"group_id": group_id, "client_msg_id": "a1", "body": "members only"})
    assert (await alice.next_message())["body"] == "members only"
    # She joins (from now): a later message reaches her, and "members only", had it been sent
    # to her, would have before it (the node delivers the group in order).
    await eve.ok("join", {"group_id": group_id})
    assert await sent_before_a_marker(alice, group_id, eve) == [[]]


async def test_bad_sends_are_refused_with_a_reason(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    ok = {"group_id": group_id, "client_msg_id": "m1", "body": "fine"}
    cases: list[tuple[Any, str]] = [
        ({**ok, "body": ""}, "body_empty"),
        ({**ok, "body": "   \n "}, "body_empty"),
        ({**ok, "body": "x" * (MAX_BODY_CHARS + 1)}, "body_too_long"),
        ({"group_id": group_id, "body": "no id"}, "invalid_payload"),
        ({**ok, "extra": 1}, "invalid_payload"),
        ({**ok, "body": 5}, "invalid_payload"),
        ({**ok, "group_id": "not a group!"}, "invalid_payload"),
        ({**ok, "group_id": "no-such-group"}, "group_not_found"),
        ("just a string", "invalid_payload"),
    ]
    for payload, code in cases:
        ack = await alice.call("send", payload)
        assert ack["ok"] is False, payload
        assert ack["error"]["code"] == code, (payload, ack)
        assert ack["error"]["message"]

    longest = await alice.call("send", {**ok, "body": "y" * MAX_BODY_CHARS})
    assert longest == {"ok": True, "client_msg_id": "m1"}
    message = await alice.next_message()
    assert (message["seq"], len(message["body"])) == (1, MAX_BODY_CHARS)
    assert await sent_before_a_marker(alice, group_id, alice) == [[]], "a refused send came"


async def test_a_retried_send_is_stored_and_delivered_once(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str], mongo: Any
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    send = {"group_id": group_id, "client_msg_id": "same", "body": "once"}
    await alice.ok("send", send)
    await alice.ok("send", send)
    first = await alice.next_message()
    assert first["seq"] == 1
    assert await sent_before_a_marker(alice, group_id, alice) == [[]], "it came twice"
    stored = await stored_messages(mongo, group_id, 2)  # the marker is the second
    assert [(m["seq"], m["body"]) for m in stored] == [(1, "once"), (2, "marker")]


async def test_a_redelivered_event_stores_nothing_new(
    agents_worker: Any,
    servers: Servers,
    gateway_settings: Settings,
    producer: AIOKafkaProducer,
    group_id: str,
    mongo: Any,
) -> None:
    topics = gateway_settings.topics
    await create_directly(producer, topics.requests, group_id)
    event = SendMessage(
        group_id=group_id, actor_id="user-zoe", actor="zoe", client_msg_id="z1", body="again"
    )
    for _ in range(3):
        await producer.send_and_wait(topics.requests, event.to_bytes(), key=group_id.encode())
    after = event.model_copy(update={"event_id": "later", "client_msg_id": "z2"})
    await producer.send_and_wait(topics.requests, after.to_bytes(), key=group_id.encode())
    # Decided in order: a fact produced by a resend would come before the second message's.
    records = await read_topic(servers, topics.events, saved_in(group_id), count=2)
    saved = [read_fact(r.value) for r in records]
    assert [(m.client_msg_id, m.seq) for m in saved if isinstance(m, MessageSaved)] == [
        ("z1", 1), ("z2", 2)
    ]  # fmt: skip
    assert [m["client_msg_id"] for m in await stored_messages(mongo, group_id, 2)] == ["z1", "z2"]


async def test_a_poison_event_is_dead_lettered_and_the_next_message_flows(
    agents_worker: Any,
    servers: Servers,
    gateway_settings: Settings,
    producer: AIOKafkaProducer,
    group_id: str,
    mongo: Any,
) -> None:
    topics = gateway_settings.topics
    await create_directly(producer, topics.requests, group_id)
    marker = uuid.uuid4().hex
    poison = [
        f"not json {marker}".encode(),
        f'{{"type": "MessageSubmitted", "group_id": "{group_id}", "note": "{marker}"}}'.encode(),
    ]
    for value in poison:
        await producer.send_and_wait(topics.requests, value, key=group_id.encode())
    good = SendMessage(
        group_id=group_id, actor_id="user-zoe", actor="zoe", client_msg_id="ok", body="still here"
    )
    await producer.send_and_wait(topics.requests, good.to_bytes(), key=group_id.encode())

    dead = await read_topic(servers, topics.dead_letter, lambda r: marker.encode() in r.value, 2)
    assert sorted(r.value for r in dead) == sorted(poison)
    assert all(dict(r.headers).get("error") for r in dead)
    saved = await read_topic(servers, topics.events, saved_in(group_id), 1)
    message = read_fact(saved[0].value)
    assert isinstance(message, MessageSaved) and message.seq == 1
    assert message.sealed and b"still here" not in saved[0].value, "bodies go in sealed"
    assert [m["body"] for m in await stored_messages(mongo, group_id, 1)] == ["still here"]


async def test_two_gateway_nodes_both_deliver(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    first_node, second_node = await start_gateway(), await start_gateway()
    alice = await connected(new_client, first_node, token_for("alice"))
    group_id = await create_group(alice)
    bob = await joined(new_client, second_node, token_for("bob"), group_id)

    await bob.ok("send", {"group_id": group_id, "client_msg_id": "b1", "body": "across nodes"})
    at_alice, at_bob = await alice.next_message(), await bob.next_message()
    assert at_alice == at_bob
    assert at_alice["body"] == "across nodes"
    assert await sent_before_a_marker(bob, group_id, alice, bob) == [[], []], "it came twice"


async def test_a_person_who_floods_is_slowed_down_on_every_socket_and_node(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    limits = {"send_rate": 0.5, "send_burst": 3}  # a token back every 2 s
    first, second = await start_gateway(**limits), await start_gateway(**limits)
    alice = await connected(new_client, first, token_for("alice"))
    group_id = await create_group(alice)

    def send(n: int) -> dict[str, Any]:
        return {"group_id": group_id, "client_msg_id": f"f{n}", "body": f"{n}"}

    for n in range(3):
        await alice.ok("send", send(n))
    refused = await alice.call("send", send(3))
    assert refused["error"]["code"] == "rate_limited"
    assert refused["client_msg_id"] == "f3"
    assert 0 < refused["error"]["retry_after"] <= 2.1
    # Another socket, on another node, a moment later: the same person, the same allowance.
    elsewhere = await connected(new_client, second, token_for("alice"))
    assert (await elsewhere.call("send", send(4)))["error"]["code"] == "rate_limited"
    await asyncio.sleep(refused["error"]["retry_after"] + 0.1)
    await alice.ok("send", send(3))
    assert sorted([(await alice.next_message())["seq"] for _ in range(4)]) == [1, 2, 3, 4]


async def test_nodes_take_tokens_a_few_at_a_time_and_together_admit_no_more_than_the_bucket(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    limits = {"send_rate": 0.2, "send_burst": 20}  # each node takes 2 tokens at a time
    first, second = await start_gateway(**limits), await start_gateway(**limits)
    name = f"lena-{uuid.uuid4().hex[:8]}"  # a bucket no other test has spent from
    alice = await connected(new_client, first, token_for(name))
    group_id = await create_group(alice)
    elsewhere = await connected(new_client, second, token_for(name))
    started = asyncio.get_running_loop().time()
    admitted = refused = 0
    for n in range(40):  # alternately on the two nodes, until both refuse
        client = (alice, elsewhere)[n % 2]
        reply = await client.call(
            "send", {"group_id": group_id, "client_msg_id": f"l{n}", "body": f"{n}"}
        )
        if reply.get("ok"):
            admitted += 1
        else:
            assert reply["error"]["code"] == "rate_limited", reply
            refused += 1
    refilled = (asyncio.get_running_loop().time() - started) * limits["send_rate"]
    assert 20 <= admitted <= 20 + refilled + 1, (admitted, refilled)
    assert refused == 40 - admitted
