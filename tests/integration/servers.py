"""Where the integration suite finds its real servers.

Order: servers named by ``KAFKA_URL``, ``MONGODB_URI`` and ``REDIS_URL`` (what ``./dev test``
exports after starting them); else servers started through testcontainers on a Docker-API
engine (the seam for a later step); else the suite fails, saying which is missing and how to
get it. It never skips.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

HOW_TO = (
    "run the suite with `./dev test` (it starts Kafka, a MongoDB-protocol server and Redis), "
    "or export KAFKA_URL, MONGODB_URI and REDIS_URL pointing at running servers"
)


@dataclass(frozen=True)
class Servers:
    kafka_url: str
    mongodb_uri: str
    redis_url: str


class ServersMissing(RuntimeError):
    pass


def servers_from_environment() -> Servers:
    names = ("KAFKA_URL", "MONGODB_URI", "REDIS_URL")
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise ServersMissing(f"{', '.join(missing)} not set: {HOW_TO}")
    return Servers(*(os.environ[name] for name in names))


async def check_reachable(servers: Servers) -> None:
    """Fail with the name of every server that does not answer within a few seconds."""
    problems: list[str] = []

    async def kafka() -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=servers.kafka_url.removeprefix("kafka://"), request_timeout_ms=5000
        )
        await admin.start()
        try:
            await admin.list_topics()
        finally:
            await admin.close()

    async def mongo() -> None:
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            servers.mongodb_uri, serverSelectionTimeoutMS=5000
        )
        try:
            await client.admin.command("ping")
        finally:
            await client.close()

    async def redis() -> None:
        client = Redis.from_url(servers.redis_url, socket_connect_timeout=5)
        try:
            await client.ping()
        finally:
            await client.aclose()

    for name, url, probe in (
        ("Kafka (KAFKA_URL)", servers.kafka_url, kafka),
        ("MongoDB (MONGODB_URI)", servers.mongodb_uri, mongo),
        ("Redis (REDIS_URL)", servers.redis_url, redis),
    ):
        try:
            await asyncio.wait_for(probe(), timeout=15)
        except Exception as exc:  # noqa: BLE001 - every failure is reported by name
            problems.append(f"{name} at {url} did not answer: {exc!r}")
    if problems:
        raise ServersMissing("; ".join(problems) + f". {HOW_TO}")
