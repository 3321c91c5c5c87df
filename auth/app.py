"""The auth application factory: ``create_app(settings)`` builds a fresh, runnable app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from argon2 import PasswordHasher, Type
from pymongo import AsyncMongoClient

from auth.cors import cors_middleware
from auth.errors import error_middleware
from auth.passwords import Passwords
from auth.refresh_tokens import RefreshTokenRepository
from auth.settings import Settings
from auth.typedefs import (
    mongo_client_key,
    passwords_key,
    refresh_tokens_key,
    settings_key,
    users_key,
)
from auth.users import UserRepository
from auth.views import routes


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
    )
    app.cleanup_ctx.append(mongo_ctx)
    app.add_routes(routes)
    return app
