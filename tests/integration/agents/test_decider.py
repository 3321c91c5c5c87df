"""A request whose outcome the broker can never take is set aside, with its reason, after a
bounded number of tries, and the requests behind it are decided."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from agents.decider import Decider
from agents.settings import Settings
from agents.transactions import PartitionProducer
from records.facts import read_fact
from records.kafka import ensure_topics
from records.requests import CreateGroup, SendMessage
from tests.integration.servers import Servers, agent_settings


async def read_all(settings: Settings, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    found: list[Any] = []
    try:
        async with asyncio.timeout(60):
            while len(found) < count:
                batches = await consumer.getmany(timeout_ms=500)
                found.extend(r for records in batches.values() for r in records)
    finally:
        await consumer.stop()
    return found


async def test_a_request_that_can_never_be_committed_goes_to_the_dead_letters(
    servers: Servers,
) -> None:
    settings = agent_settings(
        servers,
        "decider",
        topic_partitions=1,
        max_attempts=2,
        retry_backoff_max=0.2,
        session_timeout=6,
    )
    topics = settings.topics
    # The log takes no record over 1,500 bytes: a 2,000-character message can never be saved.
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topics.events, 1, 1, topic_configs={"max.message.bytes": "1500"})]
        )
    finally:
        await admin.close()
    await ensure_topics(settings)  # the rest as the chat makes them, before anything is sent

    actor = {"actor_id": "ann", "actor": "Ann", "group_id": "g1"}
    requests = [
        CreateGroup(name="team", private=False, **actor),
        SendMessage(client_msg_id="big", body="x" * 2000, **actor),
        SendMessage(client_msg_id="small", body="hello", **actor),
    ]
    decider = Decider(settings)
    task = asyncio.create_task(decider.run())
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        for request in requests:
            await producer.send_and_wait(topics.requests, request.to_bytes(), key=b"g1")
        (dead,) = await read_all(settings, topics.dead_letter, 1)
        assert b'"client_msg_id":"big"' in dead.value
        assert "could not be committed" in dict(dead.headers)["error"].decode()
        facts = [read_fact(r.value) for r in await read_all(settings, topics.events, 2)]
        assert [f.type for f in facts] == ["GroupCreated", "MessageSaved"]
        assert (facts[1].client_msg_id, facts[1].seq) == ("small", 1)  # no number was used up
    finally:
        await producer.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_worker_has_one_transaction_open_at_a_time_across_its_partitions(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``commits_in_flight=1`` the partitions' loops take turns: never two transactions
    open at once, and every request of every partition is decided, in order."""
    settings = agent_settings(
        servers, "inflight", topic_partitions=4, commits_in_flight=1, session_timeout=6
    )
    await ensure_topics(settings)
    decider = Decider(settings)
    publish, open_now, most_open = PartitionProducer.publish, 0, 0

    async def counted(self: PartitionProducer, *args: Any, **kwargs: Any) -> int | None:
        nonlocal open_now, most_open
        open_now += 1
        most_open = max(most_open, open_now)
        try:
            return await publish(self, *args, **kwargs)
        finally:
            open_now -= 1

    monkeypatch.setattr(PartitionProducer, "publish", counted)  # every partition's producer
    groups = [f"g{n}" for n in range(8)]
    per_group = 25
    task = asyncio.create_task(decider.run())
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5)
    await producer.start()
    try:
        for group_id in groups:
            actor = {"actor_id": "ann", "actor": "Ann", "group_id": group_id}
            await producer.send(
                settings.topics.requests,
                CreateGroup(name=group_id, private=False, **actor).to_bytes(),
                key=group_id.encode(),
            )
        sends = [
            await producer.send(
                settings.topics.requests,
                SendMessage(
                    client_msg_id=f"{g}-{n}", body=f"{n}", actor_id="ann", actor="Ann", group_id=g
                ).to_bytes(),  # fmt: skip
                key=g.encode(),
            )
            for n in range(per_group)
            for g in groups
        ]
        partitions = {(await sent).partition for sent in sends}
        records = await read_all(settings, settings.topics.events, len(groups) * (per_group + 1))
        facts = [read_fact(record.value) for record in records]
        saved: dict[str, list[int]] = {}
        for fact in facts:
            if fact.type == "MessageSaved":
                saved.setdefault(fact.group_id, []).append(fact.seq)
        assert len(partitions) > 1  # the groups are spread over several partitions
        assert saved == {g: list(range(1, per_group + 1)) for g in groups}
        assert most_open == 1
    finally:
        await producer.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
