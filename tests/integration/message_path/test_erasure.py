"""Deleting means deleting, in the event log too: a message's bodies (the first and each
edit's) are in the log only sealed; the delete tombstones their keys, compaction removes the
keys, and from then on a replay rebuilds the message deleted while every other message comes
back whole. Nothing in the log or the views holds the deleted words any more."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from agents.replay import replay
from infra.services import start_agents_worker
from records.requests import (
    AnyRequest,
    CreateGroup,
    DeleteMessage,
    EditMessage,
    SendMessage,
)
from records.views import group_shelf, is_view, page_shelf, read_slot
from tests.integration.message_path.conftest import own_agents, whole_topic
from tests.integration.servers import Servers

ERASE_HOURS = 2 / 3600
"""Two seconds: the keys topic's ``max.compaction.lag.ms`` for this test's deployment."""


async def views_text(database: Any) -> str:
    """Everything the views hold, as one text to search."""
    docs = [
        repr(doc)
        for name in await database.list_collection_names()
        if is_view(name)
        async for doc in database[name].find()
    ]
    return "\n".join(docs)


async def test_a_deleted_message_cannot_come_back_from_the_log(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings, env = own_agents(servers, "erasure", erase_within_hours=ERASE_HOURS)
    run = settings.app_id.rsplit("-", 1)[-1]
    group = f"g-{run}"
    secret, second, kept = f"first-secret-{run}", f"second-secret-{run}", f"kept-{run}"
    ann: dict[str, Any] = {"actor_id": "ann", "actor": "Ann"}

    def say(n: int, body: str) -> SendMessage:
        return SendMessage(group_id=group, client_msg_id=f"m{n}", body=body, **ann)

    story: list[AnyRequest] = [
        CreateGroup(group_id=group, name="g", private=False, **ann),
        say(1, secret),
        EditMessage(group_id=group, message_id=f"{group}:1", body=second, **ann),
        say(2, kept),
        DeleteMessage(group_id=group, message_id=f"{group}:1", **ann),
    ]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb_uri, tz_aware=True)
    database = client[settings.mongodb_database]
    worker = await asyncio.to_thread(
        start_agents_worker, env, tmp_path_factory.mktemp("erasure") / "agents.log"
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        for request in story:
            await producer.send_and_wait(
                settings.topics.requests, request.to_bytes(), key=group.encode()
            )
        # Decided and projected: two messages, the first edited then deleted.
        view = database[group_shelf(group)]
        async with asyncio.timeout(30):
            while (await view.find_one({"_id": group}) or {}).get("last_change") != 2:  # noqa: ASYNC110
                await asyncio.sleep(0.1)

        events = await whole_topic(settings, settings.topics.events)
        log = b"".join(r.value or b"" for r in events)
        assert group.encode() in log, "the facts are there"
        for body in (secret, second, kept):
            assert body.encode() not in log, f"{body!r} is in the event log in clear"

        # Compaction runs on segments older than the window: more messages roll them.
        keys_of = {f"{group}:1", f"{group}:1/1"}
        async with asyncio.timeout(120):
            for n in range(3, 10_000):
                records = await whole_topic(settings, settings.topics.keys)
                live = {r.key.decode() for r in records if r.value is not None}
                if not live & keys_of:
                    break
                await producer.send_and_wait(
                    settings.topics.requests, say(n, f"filler {n}").to_bytes(), key=group.encode()
                )
                await asyncio.sleep(1)
        assert f"{group}:2" in live, "the kept message's key stays"
        tombstones = {r.key.decode() for r in records if r.value is None}
        assert keys_of <= tombstones, "the tombstones stay, each telling its key erased"
    finally:
        await producer.stop()
        await asyncio.to_thread(worker.stop)

    try:
        report = await replay(settings)
        assert report.unreadable == 0
        stored = (await database[page_shelf(group, 0)].find_one({"_id": 0}) or {})["m"]
        page = {key: read_slot(value) for key, value in stored.items()}
        assert (page["0"]["deleted"], page["0"]["body"]) == (True, "")
        assert page["1"]["body"] == kept, "every other message comes back whole"
        text = await views_text(database)
        assert secret not in text and second not in text
    finally:
        await client.drop_database(settings.mongodb_database)
        await client.close()
