"""The whole message path on real servers: gateway → Kafka → agent → MongoDB → Kafka → gateway."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaProducer

from gateway.settings import Settings
from records.events import MAX_BODY_CHARS, MessageSaved, MessageSubmitted
from tests.integration.message_path.conftest import ChatClient, read_topic
from tests.integration.servers import Servers

Start = Callable[[], Awaitable[str]]
NewClient = Callable[[], ChatClient]


async def joined(new_client: NewClient, url: str, token: str, group_id: str) -> ChatClient:
    client = new_client()
    await client.connect(url, token)
    assert await client.call("join", {"group_id": group_id}) == {"ok": True, "group_id": group_id}
    return client


async def test_members_receive_each_message_in_order(
    start_gateway: Start,
    new_client: NewClient,
    token_for: Callable[..., str],
    group_id: str,
    mongo: Any,
) -> None:
    url = await start_gateway()
    alice = await joined(new_client, url, token_for("alice"), group_id)
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
    assert set(first) == {
        "message_id",
        "group_id",
        "seq",
        "sender_id",
        "sender",
        "body",
        "client_msg_id",
        "saved_at",
    }
    assert (first["group_id"], first["sender"], first["sender_id"], first["client_msg_id"]) == (
        group_id,
        "alice",
        "user-alice",
        "c1",
    )

    stored = await mongo.messages.find({"group_id": group_id}).sort("seq", 1).to_list()
    assert [(d["seq"], d["message_id"], d["body"]) for d in stored] == [
        (m["seq"], m["message_id"], m["body"]) for m in seen_by_bob
    ]


async def test_a_non_member_receives_nothing_and_cannot_send(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str], group_id: str
) -> None:
    url = await start_gateway()
    alice = await joined(new_client, url, token_for("alice"), group_id)
    eve = new_client()
    await eve.connect(url, token_for("eve"))

    refused = await eve.call("send", {"group_id": group_id, "client_msg_id": "e1", "body": "hi"})
    assert refused["ok"] is False
    assert refused["error"]["code"] == "not_a_member"

    await alice.call("send", {"group_id": group_id, "client_msg_id": "a1", "body": "members only"})
    assert (await alice.next_message())["body"] == "members only"
    await asyncio.sleep(1)
    assert eve.messages.empty()


async def test_bad_sends_are_refused_with_a_reason(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str], group_id: str
) -> None:
    url = await start_gateway()
    alice = await joined(new_client, url, token_for("alice"), group_id)
    ok = {"group_id": group_id, "client_msg_id": "m1", "body": "fine"}
    cases: list[tuple[Any, str]] = [
        ({**ok, "body": ""}, "body_empty"),
        ({**ok, "body": "   \n "}, "body_empty"),
        ({**ok, "body": "x" * (MAX_BODY_CHARS + 1)}, "body_too_long"),
        ({"group_id": group_id, "body": "no id"}, "invalid_payload"),
        ({**ok, "extra": 1}, "invalid_payload"),
        ({**ok, "body": 5}, "invalid_payload"),
        ({**ok, "group_id": "not a group!"}, "invalid_payload"),
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
    await asyncio.sleep(1)
    assert alice.messages.empty(), "a refused send was delivered"


async def test_a_retried_send_is_stored_once(
    start_gateway: Start,
    new_client: NewClient,
    token_for: Callable[..., str],
    group_id: str,
    mongo: Any,
) -> None:
    url = await start_gateway()
    alice = await joined(new_client, url, token_for("alice"), group_id)
    send = {"group_id": group_id, "client_msg_id": "same", "body": "once"}
    await alice.call("send", send)
    await alice.call("send", send)
    first, second = await alice.next_message(), await alice.next_message()
    assert (first["message_id"], first["seq"]) == (second["message_id"], second["seq"])
    assert await mongo.messages.count_documents({"group_id": group_id}) == 1


async def test_a_redelivered_event_stores_nothing_new(
    agents_worker: Any,
    servers: Servers,
    gateway_settings: Settings,
    producer: AIOKafkaProducer,
    group_id: str,
    mongo: Any,
) -> None:
    event = MessageSubmitted(
        group_id=group_id, sender_id="user-zoe", sender="zoe", client_msg_id="z1", body="again"
    )
    for _ in range(3):
        await producer.send_and_wait(
            gateway_settings.topics.incoming, event.to_bytes(), key=group_id.encode()
        )
    records = await read_topic(
        servers, gateway_settings.topics.saved, lambda r: r.key == group_id.encode(), count=3
    )
    saved = [MessageSaved.model_validate_json(r.value) for r in records]
    assert len({(m.message_id, m.seq) for m in saved}) == 1
    assert saved[0].seq == 1
    assert await mongo.messages.count_documents({"group_id": group_id}) == 1


async def test_a_poison_event_is_dead_lettered_and_the_next_message_flows(
    agents_worker: Any,
    servers: Servers,
    gateway_settings: Settings,
    producer: AIOKafkaProducer,
    group_id: str,
) -> None:
    topics = gateway_settings.topics
    marker = uuid.uuid4().hex
    poison = [
        f"not json {marker}".encode(),
        f'{{"type": "MessageSubmitted", "group_id": "{group_id}", "note": "{marker}"}}'.encode(),
    ]
    for value in poison:
        await producer.send_and_wait(topics.incoming, value, key=group_id.encode())
    good = MessageSubmitted(
        group_id=group_id, sender_id="user-ann", sender="ann", client_msg_id="ok", body="still here"
    )
    await producer.send_and_wait(topics.incoming, good.to_bytes(), key=group_id.encode())

    dead = await read_topic(servers, topics.dead_letter, lambda r: marker.encode() in r.value, 2)
    assert sorted(r.value for r in dead) == sorted(poison)
    assert all(dict(r.headers).get("error") for r in dead)
    saved = await read_topic(servers, topics.saved, lambda r: r.key == group_id.encode(), 1)
    message = MessageSaved.model_validate_json(saved[0].value)
    assert (message.body, message.seq) == ("still here", 1)


async def test_two_gateway_nodes_both_deliver(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str], group_id: str
) -> None:
    first_node, second_node = await start_gateway(), await start_gateway()
    alice = await joined(new_client, first_node, token_for("alice"), group_id)
    bob = await joined(new_client, second_node, token_for("bob"), group_id)

    await bob.call("send", {"group_id": group_id, "client_msg_id": "b1", "body": "across nodes"})
    at_alice, at_bob = await alice.next_message(), await bob.next_message()
    assert at_alice == at_bob
    assert at_alice["body"] == "across nodes"
    await asyncio.sleep(1)
    assert alice.messages.empty() and bob.messages.empty(), "a message was delivered twice"
