"""A worker killed mid-stream loses nothing and doubles nothing once a worker is back."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from infra.services import start_agents_worker
from records.facts import MessageSaved, read_fact
from records.requests import CreateGroup, SendMessage
from records.topics import Topics
from tests.integration.message_path.conftest import read_topic, stored_messages
from tests.integration.servers import Servers

FIRST, SECOND = 600, 200


async def wait_for_count(database: Any, group: str, at_least: int) -> int:
    return len(await stored_messages(database, group, at_least, within=90))


async def test_a_killed_worker_loses_and_doubles_nothing(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run = uuid.uuid4().hex[:10]
    topics = Topics(prefix=f"crash-{run}.")
    env = {
        **os.environ,
        "KAFKA_URL": servers.kafka_url,
        "MONGODB_URI": servers.mongodb_uri,
        "MONGODB_DATABASE": f"crash_{run}",
        "TOPIC_PREFIX": topics.prefix,
        "AGENTS_APP_ID": f"chat-agents-crash-{run}",
        "AGENTS_SESSION_TIMEOUT": "6",
        "AGENTS_BATCH_SIZE": "50",  # small batches, so the kill lands between two of them
    }
    logs = tmp_path_factory.mktemp("crash")
    group = "crash-group"
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb_uri)
    database = mongo[f"crash_{run}"]
    producer = AIOKafkaProducer(bootstrap_servers=servers.kafka_url.removeprefix("kafka://"))
    await producer.start()

    async def submit(numbers: range) -> None:
        for n in numbers:
            event = SendMessage(
                group_id=group, actor_id="u", actor="u", client_msg_id=f"m{n}", body=f"#{n}"
            )
            await producer.send(topics.requests, event.to_bytes(), key=group.encode())
        await producer.flush()

    worker = await asyncio.to_thread(start_agents_worker, env, logs / "first.log")
    try:
        creation = CreateGroup(group_id=group, actor_id="u", actor="u", name="crash", private=False)
        await producer.send(topics.requests, creation.to_bytes(), key=group.encode())
        await submit(range(FIRST))
        stored_before_kill = await wait_for_count(database, group, 100)
        assert worker.pid is not None
        os.killpg(worker.pid, signal.SIGKILL)  # no shutdown, no final commit
        await asyncio.to_thread(worker.stop)
        await submit(range(FIRST, FIRST + SECOND))

        worker = await asyncio.to_thread(start_agents_worker, env, logs / "second.log")
        await wait_for_count(database, group, FIRST + SECOND)
        records = await read_topic(
            servers,
            topics.events,
            lambda r: r.key == group.encode() and b'"MessageSaved"' in r.value,
            FIRST + SECOND,
        )
    finally:
        await asyncio.to_thread(worker.stop)
        await producer.stop()

    assert stored_before_kill < FIRST + SECOND, "the kill came too late to test anything"
    docs = await stored_messages(database, group, FIRST + SECOND)
    await mongo.drop_database(f"crash_{run}")
    await mongo.close()
    assert [d["seq"] for d in docs] == list(range(1, FIRST + SECOND + 1))
    assert sorted(d["client_msg_id"] for d in docs) == sorted(
        f"m{n}" for n in range(FIRST + SECOND)
    )
    saved = [fact for r in records if isinstance(fact := read_fact(r.value), MessageSaved)]
    by_id: dict[str, set[int]] = {}
    for message in saved:
        by_id.setdefault(message.message_id, set()).add(message.seq)
    assert len(by_id) == FIRST + SECOND, "every message is in the log"
    assert len(saved) == FIRST + SECOND, "no message is in the log twice"
    assert all(len(seqs) == 1 for seqs in by_id.values())
