"""The auth application factory: ``create_app(settings)`` builds a fresh, runnable app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from argon2 import PasswordHasher, Type
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from auth.cors import cors_middleware
from auth.errors import error_middleware
from auth.handlers import routes
from auth.metrics import AuthMetrics
from auth.passwords import Passwords
from auth.refresh_tokens import RefreshTokenRepository
from auth.revocations import SessionRevocations
from auth.settings import Settings
from auth.throttle import LoginThrottle
from auth.typedefs import (
    account_throttle_key,
    address_throttle_key,
    metrics_key,
    mongo_client_key,
    passwords_key,
    refresh_tokens_key,
    revocations_key,
    settings_key,
    users_key,
)
from auth.users import UserRepository
from records.operations import BackgroundTasks, operations_routes


async def mongo_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the Mongo client and make sure the indexes exist; close it on shutdown."""
    settings = app[settings_key]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=settings.mongodb_timeout_ms
    )
    try:
        database = client[settings.mongodb_database]
        users, refresh_tokens = UserRepository(database), RefreshTokenRepository(database)
        await users.create_indexes()
        await refresh_tokens.create_indexes()
        app[mongo_client_key] = client
        app[users_key] = users
        app[refresh_tokens_key] = refresh_tokens
        yield
    finally:
        await client.close()


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    app[revocations_key] = SessionRevocations(
        redis, settings.revocations_channel, settings.access_token_ttl
    )
    yield
    if redis is not None:
        await redis.aclose()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        # The CORS middleware is outermost so error responses carry CORS headers too.
        middlewares=[cors_middleware(settings.cors_origins), error_middleware],
    )
    app[settings_key] = settings
    app[passwords_key] = Passwords(
        PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        ),
        max_concurrent=settings.argon2_max_concurrent,
        max_waiting=settings.argon2_max_waiting,
    )
    app[account_throttle_key] = LoginThrottle(
        settings.login_free_failures, settings.login_longest_wait
    )
    app[address_throttle_key] = LoginThrottle(
        settings.login_free_failures_per_address, settings.login_longest_wait
    )
    app.cleanup_ctx.extend([mongo_ctx, redis_ctx])
    metrics = app[metrics_key] = AuthMetrics()
    passwords = app[passwords_key]
    metrics.hashing_queue.set_function(lambda: passwords.waiting)

    async def mongodb() -> None:
        await app[mongo_client_key].admin.command("ping")

    async def redis() -> None:
        """Where revoked sessions are announced to the gateways (when configured)."""
        connection = app[revocations_key].redis
        if connection is not None:
            await connection.ping()

    checks = {"mongodb": mongodb, **({"redis": redis} if settings.redis_url else {})}
    app.add_routes(operations_routes(BackgroundTasks(), metrics.registry, checks))
    app.add_routes(routes)
    return app
