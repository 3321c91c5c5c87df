"""The gateway application factory: aiohttp + python-socketio, one per node."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio
from aiohttp import web
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from gateway.broadcast import broadcast_saved
from gateway.memberships import Memberships
from gateway.settings import Settings
from gateway.sockets import ChatNamespace
from records.kafka import ensure_topics

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
MONGO = web.AppKey("mongo", AsyncMongoClient)
PRODUCER = web.AppKey("producer", AIOKafkaProducer)
SIO = web.AppKey("sio", socketio.AsyncServer)

MAX_PACKET_BYTES = 64 * 1024
"""Largest Socket.IO packet accepted: a 4,000-character body in UTF-8 fits with room to spare."""


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_PACKET_BYTES)
    app[SETTINGS] = settings
    manager = socketio.AsyncRedisManager(settings.redis_url, channel=settings.socketio_channel)
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=settings.cors_origins or None,
        max_http_buffer_size=MAX_PACKET_BYTES,
    )
    sio.attach(app)
    app[SIO] = sio
    app.cleanup_ctx.extend([mongo_ctx, kafka_producer_ctx, namespace_ctx, broadcast_ctx])
    app.router.add_get("/healthz", healthz)
    return app


async def mongo_ctx(app: web.Application) -> AsyncIterator[None]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        app[SETTINGS].mongodb_uri, tz_aware=True
    )
    app[MONGO] = client
    yield
    await client.close()


async def kafka_producer_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    await ensure_topics(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
    )
    await producer.start()
    app[PRODUCER] = producer
    yield
    await producer.stop()


async def namespace_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    memberships = Memberships(app[MONGO][settings.mongodb_database])
    app[SIO].register_namespace(ChatNamespace(settings, app[PRODUCER], memberships))
    yield
    await app[SIO].shutdown()


async def broadcast_ctx(app: web.Application) -> AsyncIterator[None]:
    started = asyncio.Event()
    task = asyncio.create_task(broadcast_saved(app[SETTINGS], app[SIO], started))
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()  # a consumer that could not start fails the startup, loudly
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def healthz(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    await request.app[MONGO][settings.mongodb_database].command("ping")
    return web.json_response({"status": "ok"})
