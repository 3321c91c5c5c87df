"""The gateway application factory: aiohttp + python-socketio, one per node."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import socketio
from aiohttp import web
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from redis.asyncio import BlockingConnectionPool, Redis

from gateway import wire
from gateway.backpressure import shed_slow_sockets
from gateway.broadcast import follow_log
from gateway.delivery import Delivery, DeliveryGate, group_room
from gateway.directory import UserDirectory
from gateway.limits import RateLimits
from gateway.manager import RedisManager
from gateway.metrics import GatewayMetrics
from gateway.presence import Presence
from gateway.readmodel import ReadModel
from gateway.requests import RequestBus
from gateway.rest import routes
from gateway.revocations import follow_revocations
from gateway.settings import Settings
from gateway.sockets import ChatNamespace
from gateway.transport import websocket_compression
from gateway.typedefs import (
    DELIVERY,
    HTTP,
    LIMITS,
    MANAGER,
    METRICS,
    MONGO,
    PRODUCER,
    READS,
    REDIS,
    SETTINGS,
    SIO,
    TASKS,
)
from gateway.web import web_routes
from records.kafka import BATCH_BYTES, KeyPartitioner, ensure_topics
from records.operations import BackgroundTasks, operations_routes
from records.requests import RequestAnswered

log = logging.getLogger(__name__)

MAX_PACKET_BYTES = 64 * 1024
"""Largest Socket.IO packet accepted: a 4,000-character body in UTF-8 fits with room to spare."""


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=MAX_PACKET_BYTES,
        middlewares=[websocket_compression(settings.websocket_compression)],
    )
    app[SETTINGS] = settings
    manager = RedisManager(settings.redis_url, channel=settings.socketio_channel)
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=settings.cors_origins or None,
        max_http_buffer_size=MAX_PACKET_BYTES,
        json=wire,
    )
    sio.attach(app)
    app[SIO], app[MANAGER] = sio, manager
    metrics = app[METRICS] = GatewayMetrics()
    metrics.sockets.set_function(lambda: len(sio.eio.sockets))
    tasks = app[TASKS] = BackgroundTasks(metrics.registry)
    app.cleanup_ctx.extend([mongo_ctx, redis_ctx, http_ctx, kafka_producer_ctx, sockets_ctx])
    app.cleanup_ctx.append(broadcast_ctx)
    app.on_shutdown.append(close_sockets)

    async def mongodb() -> None:
        await app[MONGO][settings.mongodb_database].command("ping")

    async def redis() -> None:
        await app[REDIS].ping()

    async def kafka() -> None:
        await app[PRODUCER].client.fetch_all_metadata()  # raises when no broker answers

    checks = {"mongodb": mongodb, "redis": redis, "kafka": kafka}
    app.add_routes(operations_routes(tasks, metrics.registry, checks))
    app.add_routes(routes)
    app.add_routes(web_routes)
    return app


async def mongo_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    app[MONGO] = client
    app[READS] = ReadModel(client[settings.mongodb_database], wait=settings.view_wait)
    app[DELIVERY] = Delivery(app[SIO], DeliveryGate(), app[READS], settings.gap_timeout)
    yield
    await app[DELIVERY].close()
    await client.close()


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    # A pool that waits for a free connection: a thousand sockets leaving at once (a node's
    # clients reconnecting elsewhere) must queue their presence updates, not fail them.
    pool = BlockingConnectionPool.from_url(
        app[SETTINGS].redis_url, max_connections=64, timeout=10, decode_responses=True
    )
    redis = Redis(connection_pool=pool)
    app[REDIS] = redis
    yield
    await redis.aclose()
    await pool.aclose()


async def http_ctx(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        app[HTTP] = session
        yield


async def kafka_producer_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    await ensure_topics(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        # One batch in flight per partition (idempotence): under load, what gathers behind it
        # goes in the next one whole, not in 16 KiB pieces one round trip each.
        max_batch_size=BATCH_BYTES,
        partitioner=KeyPartitioner(),
    )
    await producer.start()
    app[PRODUCER] = producer
    yield
    await producer.stop()


async def sockets_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, sio, manager = app[SETTINGS], app[SIO], app[MANAGER]

    async def rejected(answer: RequestAnswered) -> None:
        """A send refused by the agents after it was acknowledged: tell its socket. (A read
        marker refused the same way needs no word: its member has left.)"""
        if answer.request_type != "MessageSubmitted":
            return
        app[METRICS].refusals.labels(event="message_rejected", code=answer.code or "").inc()
        sid = answer.origin_sid
        if sid and sio.manager.is_connected(sid, "/"):
            error = {"code": answer.code, "message": answer.message}
            payload = {"group_id": answer.group_id, "client_msg_id": answer.client_msg_id}
            await sio.emit(
                "message_rejected", {**payload, "error": error}, to=sid, ignore_queue=True
            )

    async def announce(user_id: str, username: str, online: bool) -> None:
        change = {"user_id": user_id, "username": username, "online": online}
        for group_id in await app[READS].group_ids_of(user_id):
            await sio.emit(
                "presence_changed", {"group_id": group_id, **change}, room=group_room(group_id)
            )

    bus = RequestBus(settings, app[PRODUCER], rejected)
    presence = Presence(app[REDIS], settings.socketio_channel, settings.presence_ttl, announce)
    directory = UserDirectory(settings, app[HTTP])
    await bus.start()
    presence.start()
    limits = app[LIMITS] = RateLimits(app[REDIS], settings.socketio_channel, settings.limits())
    namespace = ChatNamespace(
        settings, bus, app[READS], app[DELIVERY], presence, directory, limits, app[METRICS]
    )
    sio.register_namespace(namespace)
    stop = asyncio.Event()
    tasks = app[TASKS]
    shedding = tasks.watch(
        "slow socket shedder",
        asyncio.create_task(shed_slow_sockets(sio, settings.max_queued_packets)),
    )
    revocations = tasks.watch(
        "revocations listener",
        asyncio.create_task(
            follow_revocations(
                app[REDIS],
                settings.revocations_channel,
                namespace.revoked,
                stop,
                connected=lambda: list(namespace.gate.users.values()),
            )
        ),
    )
    tasks.watch("replies reader", bus.task)
    tasks.watch("presence upkeep", presence.task)
    # The Redis manager's listener starts now, not at the first connection, so that a node
    # with no sockets yet already reports it (and hears other nodes' broadcasts).
    sio.manager_initialized = True
    manager.initialize()
    tasks.probe("redis listener", manager.listening)
    app[METRICS].redis_listener.set_function(lambda: 1 if manager.listening() else 0)
    yield
    stop.set()
    shedding.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await shedding
    _, late = await asyncio.wait([revocations], timeout=5)
    for task in late:  # not awaited: a read Redis will not let go of must not hang shutdown
        log.warning("the revocations listener did not stop in 5 s")
        task.cancel()
    await presence.stop()
    await bus.stop()
    await app[MANAGER].close()


async def broadcast_ctx(app: web.Application) -> AsyncIterator[None]:
    started = asyncio.Event()
    task = asyncio.create_task(
        follow_log(app[SETTINGS], app[SIO], app[DELIVERY], started, app[METRICS])
    )
    app[TASKS].watch("event log reader", task)
    try:
        await asyncio.wait_for(started.wait(), timeout=60)
    except TimeoutError:
        task.cancel()
        raise RuntimeError("the event log could not be read within 60 s") from None
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def close_sockets(app: web.Application) -> None:
    """Disconnect every client before aiohttp waits for open connections to finish, so a
    node stops in a moment, and its clients reconnect elsewhere and recover."""
    app[TASKS].stopping = True  # the background tasks end from here on, as they should
    if app[SIO].eio.sockets:  # engine.io's disconnect-all fails when there is no one
        try:
            await asyncio.wait_for(app[SIO].eio.disconnect(), timeout=5)
        except TimeoutError:  # a client that does not answer the close: cleanup drops it
            log.warning("some clients did not close within 5 s")
    await app[SIO].shutdown()
