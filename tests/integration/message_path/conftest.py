"""Fixtures for the message path: one agent worker per test session, gateways per test.

The session gets its own topic prefix, database and consumer groups (a fresh uuid), so a run
never sees another run's data; each test uses fresh group ids of its own.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import SecretStr
from pymongo import AsyncMongoClient

from agents.settings import Settings as AgentSettings
from auth.app import create_app as create_auth_app
from auth.settings import Settings as AuthSettings
from gateway.app import create_app
from gateway.settings import Settings
from infra.paths import free_port
from infra.services import start_agents_worker
from records.kafka import partitions_of
from records.settings import KafkaSettings
from records.tokens import issue_token
from records.views import PAGES_PREFIX, read_slot
from search.app import create_app as create_search_app
from search.settings import Settings as SearchSettings
from tests.integration.servers import Servers, agent_settings


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def gateway_settings(servers: Servers, run_id: str) -> Settings:
    return Settings(
        kafka_url=servers.kafka_url,
        mongodb_uri=servers.mongodb_uri,
        redis_url=servers.redis_url,
        mongodb_database=f"chat_{run_id}",
        topic_prefix=f"test-{run_id}.",
        jwt_secret=SecretStr(secrets.token_urlsafe(48)),
        socketio_channel=f"socketio-{run_id}",
        revocations_channel=f"revocations-{run_id}",
        port=0,
        # The nodes here share the test's event loop, clients and all: its lag is not a
        # node's. Admission has its own tests (test_admission.py), with a limit of their own.
        admission_lag=0,
    )


@pytest.fixture(scope="session")
async def agents_worker(
    gateway_settings: Settings, run_id: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    env = {
        **os.environ,
        "KAFKA_URL": gateway_settings.kafka_url,
        "MONGODB_URI": gateway_settings.mongodb_uri,
        "MONGODB_DATABASE": gateway_settings.mongodb_database,
        "TOPIC_PREFIX": gateway_settings.topic_prefix,
        "AGENTS_APP_ID": f"chat-agents-{run_id}",
    }
    log_path = tmp_path_factory.mktemp("agents") / "agents.log"
    web_port = free_port()
    worker = await asyncio.to_thread(start_agents_worker, env, log_path, web_port=web_port)
    worker.web_url = f"http://127.0.0.1:{web_port}"  # its /healthz, /readyz and /metrics
    yield worker
    await asyncio.to_thread(worker.stop)


@pytest.fixture(scope="session")
async def mongo(gateway_settings: Settings) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        gateway_settings.mongodb_uri, tz_aware=True
    )
    yield client[gateway_settings.mongodb_database]
    await client.close()


@pytest.fixture
async def start_auth(gateway_settings: Settings) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Start the real auth service, on the session's database, JWT key and Redis; each call
    returns one instance's URL. Keyword arguments override its settings."""
    runners: list[web.AppRunner] = []

    async def start(**overrides: Any) -> str:
        settings = AuthSettings(
            mongodb_uri=gateway_settings.mongodb_uri,
            mongodb_database=gateway_settings.mongodb_database,
            jwt_secret=gateway_settings.jwt_secret,
            jwt_issuer=gateway_settings.jwt_issuer,
            jwt_audience=gateway_settings.jwt_audience,
            argon2_time_cost=1,
            argon2_memory_cost=1024,
            argon2_parallelism=1,
            redis_url=gateway_settings.redis_url,
            revocations_channel=gateway_settings.revocations_channel,
            port=0,
        ).model_copy(update=overrides)
        runner = web.AppRunner(create_auth_app(settings))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture
async def auth_url(start_auth: Callable[..., Awaitable[str]]) -> str:
    """The real auth service, on the session's database and JWT key."""
    return await start_auth()


async def sign_up(auth_url: str, username: str) -> tuple[str, str]:
    """Register and log in at the real auth service: ``(user_id, access_token)``."""
    credentials = {"username": username, "password": secrets.token_urlsafe(12)}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{auth_url}/register", json=credentials) as response:
            assert response.status == 201, await response.text()
            user_id = (await response.json())["user_id"]
        async with http.post(f"{auth_url}/login", json=credentials) as response:
            assert response.status == 200, await response.text()
            return user_id, (await response.json())["access_token"]


@pytest.fixture(scope="session")
async def search_url(
    gateway_settings: Settings, agents_worker: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """The real search service, in this process, indexing the session's event log; its URL.
    Started only for the tests that ask for it: give it to a gateway as ``search_url``."""
    settings = SearchSettings(
        kafka_url=gateway_settings.kafka_url,
        topic_prefix=gateway_settings.topic_prefix,
        data_dir=tmp_path_factory.mktemp("search"),
        port=0,
    )
    runner = web.AppRunner(create_search_app(settings))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.fixture
def gateway_apps() -> dict[str, web.Application]:
    """Base URL → the app of each node ``start_gateway`` started, for tests that must reach
    into one (to pause a handler at a chosen point, say)."""
    return {}


@pytest.fixture
async def start_gateway(
    gateway_settings: Settings, agents_worker: Any, gateway_apps: dict[str, web.Application]
) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Start gateway nodes on free ports; each call returns one node's base URL. Keyword
    arguments override settings of that node."""
    runners: list[web.AppRunner] = []

    async def start(**overrides: Any) -> str:
        settings = gateway_settings.model_copy(update=overrides)
        app = create_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        gateway_apps[f"http://127.0.0.1:{port}"] = app
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


class ChatClient:
    """A real Socket.IO client that records every event it is sent, per event name."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: dict[str, asyncio.Queue[Any]] = {}
        self.connect_errors: list[Any] = []
        self.sio.on("*", self._on_event)
        self.sio.on("connect_error", self._on_connect_error)

    @property
    def messages(self) -> asyncio.Queue[Any]:
        return self.queue("message")

    def queue(self, event: str) -> asyncio.Queue[Any]:
        return self.received.setdefault(event, asyncio.Queue())

    async def _on_event(self, event: str, data: Any = None) -> None:
        await self.queue(event).put(data)

    async def _on_connect_error(self, data: Any) -> None:
        self.connect_errors.append(data)

    async def connect(self, url: str, token: str | None) -> None:
        auth = {"token": token} if token is not None else None
        await self.sio.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, timeout=20)

    async def ok(self, event: str, data: Any = None) -> Any:
        """Call and insist on ``ok: true``."""
        reply = await self.call(event, data)
        assert reply.get("ok") is True, (event, data, reply)
        return reply

    async def next(self, event: str, within: float = 20) -> Any:
        return await asyncio.wait_for(self.queue(event).get(), within)

    async def next_message(self, within: float = 20) -> dict[str, Any]:
        return await self.next("message", within)

    def nothing_more(self, event: str = "message") -> bool:
        """True if no ``event`` is waiting to be taken. Worth asserting only once a later
        event this socket is sent has come (``sent_before_a_marker``): before that, one on its
        way may simply not be here yet."""
        return self.queue(event).empty()

    def taken(self, event: str = "message") -> list[Any]:
        """Every ``event`` waiting to be taken, taken off the queue, oldest first."""
        queue = self.queue(event)
        return [queue.get_nowait() for _ in range(queue.qsize())]


@pytest.fixture
async def new_client() -> AsyncIterator[Callable[[], ChatClient]]:
    clients: list[ChatClient] = []

    def make() -> ChatClient:
        client = ChatClient()
        clients.append(client)
        return client

    yield make
    for client in clients:
        if client.sio.connected:
            await client.sio.disconnect()


@pytest.fixture
def token_for(gateway_settings: Settings) -> Callable[..., str]:
    def issue(username: str, ttl: timedelta = timedelta(minutes=5)) -> str:
        token, _ = issue_token(
            gateway_settings,
            user_id=f"user-{username}",
            username=username,
            token_type="access",
            ttl=ttl,
        )
        return token

    return issue


Start = Callable[..., Awaitable[str]]
NewClient = Callable[[], ChatClient]


async def connected(new_client: NewClient, url: str, token: str) -> ChatClient:
    client = new_client()
    await client.connect(url, token)
    return client


async def create_group(client: ChatClient, name: str = "team", private: bool = False) -> str:
    reply = await client.ok("create_group", {"name": name, "private": private})
    return str(reply["group_id"])


def people(*roles: str) -> list[str]:
    """Fresh names for the roles (``"ann"``, ``"bob"`` …), so no test shares another's people
    or rate-limit buckets."""
    run = uuid.uuid4().hex[:6]
    return [f"{role}{run}" for role in roles]


async def in_a_group(
    new_client: NewClient, url: str, token_for: Callable[..., str], *names: str
) -> tuple[str, list[ChatClient]]:
    """A new group and its people, each on a socket of their own: the first made it, the
    others joined it."""
    clients = [await connected(new_client, url, token_for(name)) for name in names]
    group_id = await create_group(clients[0])
    for client in clients[1:]:
        await client.ok("join", {"group_id": group_id})
    return group_id, clients


async def messages_until(
    client: ChatClient, client_msg_id: str, within: float = 20
) -> list[dict[str, Any]]:
    """Every message the client is sent up to and including the one with ``client_msg_id``,
    taken off its queue, oldest first."""
    taken: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while not taken or taken[-1].get("client_msg_id") != client_msg_id:
            taken.append(await client.next_message())
    return taken


async def sent_before_a_marker(
    sender: ChatClient, group_id: str, *clients: ChatClient
) -> list[list[dict[str, Any]]]:
    """``sender`` sends a marker message to the group; once each of ``clients`` has it, the
    messages each was sent before it (taken off its queue, the marker too).

    A node sends a group's facts to a socket in the log's order, so a message from before the
    marker that a client was not to get is in its list: this shows that something did not
    arrive, where a sleep shows nothing on a slow machine. Each of ``clients`` must follow
    the group (on any node); the sender need not be one of them."""
    marker = f"marker-{uuid.uuid4().hex[:12]}"
    await sender.ok("send", {"group_id": group_id, "client_msg_id": marker, "body": "marker"})
    return [(await messages_until(client, marker))[:-1] for client in clients]


@pytest.fixture
def group_id() -> str:
    """A fresh group id for tests that talk to the agents directly over Kafka."""
    return f"g-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def producer(servers: Servers) -> AsyncIterator[AIOKafkaProducer]:
    kafka = AIOKafkaProducer(bootstrap_servers=servers.kafka_url.removeprefix("kafka://"))
    await kafka.start()
    yield kafka
    await kafka.stop()


async def whole_topic(settings: KafkaSettings, topic: str) -> list[Any]:
    """Every committed record of ``topic`` up to its end now, from its first."""
    partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        found: list[Any] = []
        async with asyncio.timeout(30):
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                batches = await consumer.getmany(timeout_ms=500)
                found.extend(r for records in batches.values() for r in records)
        return found
    finally:
        await consumer.stop()


def own_agents(
    servers: Servers, name: str, **settings: Any
) -> tuple[AgentSettings, dict[str, str]]:
    """Settings of an agents deployment of a test's own (its topics, database and consumer
    groups), and the environment that starts a worker of it."""
    own = agent_settings(servers, name, **settings)
    env = {
        **os.environ,
        "KAFKA_URL": own.kafka_url,
        "MONGODB_URI": own.mongodb_uri,
        "MONGODB_DATABASE": own.mongodb_database,
        "TOPIC_PREFIX": own.topic_prefix,
        "AGENTS_APP_ID": own.app_id,
        "ERASE_WITHIN_HOURS": str(own.erase_within_hours),
    }
    return own, env


async def read_topic(
    servers: Servers,
    topic: str,
    wanted: Callable[[Any], bool],
    count: int,
    within: float = 30,
) -> list[Any]:
    """Read ``topic`` from the beginning until ``count`` records match ``wanted``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=servers.kafka_url.removeprefix("kafka://"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        isolation_level="read_committed",
    )
    await consumer.start()
    found: list[Any] = []
    try:
        async with asyncio.timeout(within):
            while len(found) < count:
                batches = await consumer.getmany(timeout_ms=500)
                found.extend(r for records in batches.values() for r in records if wanted(r))
    finally:
        await consumer.stop()
    return found


async def stored_messages(
    database: Any, group_id: str, count: int, within: float = 20
) -> list[dict[str, Any]]:
    """The group's messages in the page view, oldest first, once it holds at least ``count``
    (the projector writes the views a moment after the facts are committed)."""
    async with asyncio.timeout(within):
        while True:
            shelves = [
                name
                for name in await database.list_collection_names()
                if name.startswith(f"{PAGES_PREFIX}{group_id}.")
            ]
            slots = [
                read_slot(slot)
                for shelf in shelves
                async for page in database[shelf].find()
                for slot in page["m"].values()
            ]
            if len(slots) >= count:
                return sorted(slots, key=lambda slot: slot["seq"])
            await asyncio.sleep(0.05)
