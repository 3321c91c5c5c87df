"""Fixtures for the auth integration tests: a real MongoDB-protocol server, a fresh database
per test, and the real app from ``create_app`` behind aiohttp's test client.

``MONGODB_URI`` names the server. Without it, or when it does not answer, the tests fail and
say so; they never skip.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from pymongo import AsyncMongoClient

from auth.settings import Settings
from tests.integration.auth.helpers import (
    PASSWORD,
    Account,
    Client,
    NewAccount,
    login,
    register,
    start_client,
)
from tests.integration.servers import Servers


@pytest.fixture(scope="session")
def mongodb_uri(servers: Servers) -> str:
    return servers.mongodb_uri


@pytest.fixture
async def mongo(mongodb_uri: str) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri, tz_aware=True)
    yield client
    await client.close()


@pytest.fixture
async def settings(
    mongodb_uri: str, mongo: AsyncMongoClient[dict[str, Any]]
) -> AsyncIterator[Settings]:
    database = f"auth_test_{uuid.uuid4().hex}"
    yield Settings(
        mongodb_uri=mongodb_uri,
        mongodb_database=database,
        jwt_secret=SecretStr(secrets.token_urlsafe(48)),
        port=0,
        # Cheap hashes keep the suite fast; production keeps argon2-cffi's defaults.
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        argon2_parallelism=1,
        max_body_bytes=16 * 1024,
        # Every client here is one address: without the grace, a second use of a refresh
        # token is a theft (the grace for retries is tested in message_path/test_sessions).
        refresh_reuse_grace=0,
    )
    await mongo.drop_database(database)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    client = await start_client(settings)
    yield client
    await client.close()


@pytest.fixture
def new_account(client: Client) -> NewAccount:
    """Register and log in a user with a fresh name; returns its tokens."""

    async def make(prefix: str = "user") -> Account:
        username = f"{prefix}_{uuid.uuid4().hex[:8]}"
        registered = await register(client, username)
        tokens = await login(client, username)
        return Account(
            user_id=registered["user_id"],
            username=username,
            password=PASSWORD,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
        )

    return make
