"""Fixtures for the search service: its own topics (a fresh prefix a test), its index in the
test's temporary directory, and a writer of the log that writes as the agents do — each
body sealed, its key to the keys topic in the same transaction, a delete's tombstones."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaProducer

from records.facts import Fact, MessageDeleted, MessageEdited, MessageSaved
from records.kafka import ensure_topics
from records.sealing import KEY_NO_HEADER, key_id, new_key, seal
from records.search import parse_query
from search.app import create_app
from search.settings import Settings
from tests.integration.servers import Servers

Client = TestClient[web.Request, web.Application]
PARTITION = 0


@pytest.fixture
async def search_settings(servers: Servers, tmp_path: Path) -> Settings:
    run = uuid.uuid4().hex[:10]
    settings = Settings(
        kafka_url=servers.kafka_url, topic_prefix=f"search-{run}.", data_dir=tmp_path / "search"
    )
    await ensure_topics(settings)
    return settings


class LogWriter:
    """Commits facts to the event log as the agents' decider does (``agents.keys``,
    ``agents.transactions``): keys numbered in log order, each before its fact."""

    def __init__(self, settings: Settings) -> None:
        self.topics = settings.topics
        self.producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            transactional_id=f"search-test-{uuid.uuid4().hex}",
            enable_idempotence=True,
            acks="all",
        )
        self.key_no = 0
        self.key_ids: dict[str, list[str]] = {}
        """Message id → the ids of the keys of its bodies."""

    async def write(self, *facts: Fact) -> None:
        """One transaction; returns once it is committed (acknowledged)."""
        async with self.producer.transaction():
            for fact in facts:
                await self._send(fact)

    async def garbage(self, raw: bytes) -> None:
        async with self.producer.transaction():
            await self.producer.send(self.topics.events, raw, key=b"x", partition=PARTITION)

    async def _send(self, fact: Fact) -> None:
        if isinstance(fact, MessageSaved | MessageEdited):
            key = new_key()
            fact = seal(fact, key, await self._key(key_id(fact), key))
            self.key_ids.setdefault(fact.message_id, []).append(key_id(fact))
        elif isinstance(fact, MessageDeleted):
            for name in self.key_ids.pop(fact.message_id, []):
                fact = fact.model_copy(update={"key_no": await self._key(name, None)})
        await self.producer.send(
            self.topics.events, fact.to_bytes(), key=fact.group_id.encode(), partition=PARTITION
        )

    async def _key(self, name: str, key: bytes | None) -> int:
        self.key_no += 1
        await self.producer.send(
            self.topics.keys,
            key,
            key=name.encode(),
            partition=PARTITION,
            headers=[(KEY_NO_HEADER, str(self.key_no).encode())],
        )
        return self.key_no


@pytest.fixture
async def log_writer(search_settings: Settings) -> AsyncIterator[LogWriter]:
    writer = LogWriter(search_settings)
    await writer.producer.start()
    yield writer
    await writer.producer.stop()


async def start_search(settings: Settings) -> Client:
    """The real app from ``create_app(settings)``, served in-process, once it is ready (the
    index holds the log as it was when it started)."""
    client: Client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    async with asyncio.timeout(30):
        while (await client.get("/readyz")).status != 200:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return client


async def search(client: Client, text: str, groups: list[str], **more: Any) -> dict[str, Any]:
    body = {"query": parse_query(text).model_dump(mode="json"), "group_ids": groups, **more}
    response = await client.post("/search", json=body)
    assert response.status == 200, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def found_within(
    client: Client, text: str, groups: list[str], expected: list[str], seconds: float = 30
) -> float:
    """Seconds until the search finds exactly ``expected`` (message ids, newest first)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(seconds):
        while True:
            answer = await search(client, text, groups)
            if [hit["message_id"] for hit in answer["results"]] == expected:
                return loop.time() - started
            await asyncio.sleep(0.01)
