"""Where the integration suite finds its real servers.

Order: servers named by ``KAFKA_URL``, ``MONGODB_URI`` and ``REDIS_URL``; for any not named,
containers started through testcontainers on a Docker-API engine that answers (what
``./dev test`` does, on podman); else the suite fails, saying which is missing and how to get
it. It never skips.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from agents.settings import Settings as AgentSettings

VARIABLES = {"kafka": "KAFKA_URL", "mongodb": "MONGODB_URI", "redis": "REDIS_URL"}
HOW_TO = (
    "run the suite with `./dev test` (it builds the images and starts the servers as "
    "containers through testcontainers on podman; `./dev test --processes` starts them as plain "
    "processes), or point DOCKER_HOST at a Docker-API engine (images: CHAT_TEST_KAFKA_IMAGE, "
    "CHAT_TEST_MONGO_IMAGE, CHAT_TEST_REDIS_IMAGE), or export KAFKA_URL, MONGODB_URI and "
    "REDIS_URL pointing at running servers"
)


@dataclass(frozen=True)
class Servers:
    kafka_url: str
    mongodb_uri: str
    redis_url: str


def agent_settings(servers: Servers, name: str, **overrides: Any) -> AgentSettings:
    """Settings of an agents deployment of a test's own on ``servers``: its topics, consumer
    groups and database named for ``name`` and a fresh run id, so no two tests share them."""
    run = uuid.uuid4().hex[:10]
    return AgentSettings(
        kafka_url=servers.kafka_url,
        mongodb_uri=servers.mongodb_uri,
        **{
            "mongodb_database": f"{name}_{run}",
            "topic_prefix": f"{name}-{run}.",
            "app_id": f"{name}-{run}",
            **overrides,
        },
    )


class ServersMissing(RuntimeError):
    pass


def urls_from_environment() -> dict[str, str]:
    """The servers the environment names, by role; possibly none or only some."""
    return {role: os.environ[name] for role, name in VARIABLES.items() if os.environ.get(name)}


def servers_from_environment() -> Servers:
    found = urls_from_environment()
    missing = [name for role, name in VARIABLES.items() if role not in found]
    if missing:
        raise ServersMissing(f"{', '.join(missing)} not set: {HOW_TO}")
    return Servers(found["kafka"], found["mongodb"], found["redis"])


async def probe_kafka(url: str) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=url.removeprefix("kafka://"), request_timeout_ms=5000
    )
    await admin.start()
    try:
        await admin.list_topics()
    finally:
        await admin.close()


async def probe_mongo(url: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        url, serverSelectionTimeoutMS=5000
    )
    try:
        await client.admin.command("ping")
    finally:
        await client.close()


async def probe_redis(url: str) -> None:
    client = Redis.from_url(url, socket_connect_timeout=5)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def check_reachable(servers: Servers) -> None:
    """Fail with the name of every server that does not answer within a few seconds."""
    problems: list[str] = []
    for name, url, probe in (
        ("Kafka (KAFKA_URL)", servers.kafka_url, probe_kafka),
        ("MongoDB (MONGODB_URI)", servers.mongodb_uri, probe_mongo),
        ("Redis (REDIS_URL)", servers.redis_url, probe_redis),
    ):
        try:
            await asyncio.wait_for(probe(url), timeout=15)
        except Exception as exc:  # noqa: BLE001 - every failure is reported by name
            problems.append(f"{name} at {url} did not answer: {exc!r}")
    if problems:
        raise ServersMissing("; ".join(problems) + f". {HOW_TO}")
