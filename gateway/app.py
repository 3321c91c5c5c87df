"""The gateway application factory: aiohttp + python-socketio, one per node."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import aiohttp
import socketio
from aiohttp import web
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from redis.asyncio import BlockingConnectionPool, Redis

from gateway import wire
from gateway.admission import DeliveryLag
from gateway.backpressure import shed_slow_sockets
from gateway.bus import RequestBus
from gateway.delivery import Delivery
from gateway.directory import UserDirectory
from gateway.gate import DeliveryGate
from gateway.handling import ChatNamespace
from gateway.handling.connection import revoke_sessions
from gateway.handling.messages import tell_rejected
from gateway.handling.presence import announce
from gateway.limits import RateLimits
from gateway.log_reader import LogReader
from gateway.manager import RedisManager
from gateway.metrics import GatewayMetrics
from gateway.presence import Presence
from gateway.readmodel import ReadModel
from gateway.recent import RecentEvents
from gateway.rest import routes
from gateway.revocations import follow_revocations
from gateway.search import SearchClient
from gateway.seen import SeenLog
from gateway.settings import Settings
from gateway.transport import websocket_compression
from gateway.typedefs import (
    DELIVERY,
    DIRECTORY,
    HTTP,
    LIMITS,
    MANAGER,
    METRICS,
    MONGO,
    PRODUCER,
    READS,
    REDIS,
    SEARCH,
    SEEN,
    SETTINGS,
    SIO,
    TASKS,
)
from gateway.web import web_routes
from records.kafka import BATCH_BYTES, KeyPartitioner, ensure_topics
from records.operations import BackgroundTasks, operations_routes

log = logging.getLogger(__name__)

MAX_PACKET_BYTES = 64 * 1024
"""Largest Socket.IO packet accepted: a 4,000-character body in UTF-8 fits with room to spare."""


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=MAX_PACKET_BYTES,
        middlewares=[websocket_compression(settings.websocket_compression)],
    )
    app[SETTINGS] = settings
    app[SEEN] = SeenLog()
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
    app.cleanup_ctx.append(log_reader_ctx)
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
    seen = app[SEEN]
    app[READS] = ReadModel(client[settings.mongodb_database], seen, wait=settings.view_wait)
    app[DELIVERY] = Delivery(
        app[SIO],
        DeliveryGate(),
        seen,
        app[READS],
        settings.gap_timeout,
        settings.quote_cache_size,
        RecentEvents(settings.recent_events),
        DeliveryLag(settings.admission_lag),
    )
    yield
    await app[DELIVERY].close()
    await app[READS].close()
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
    """The session the gateway calls the other services with: auth (users by name) and
    search. Neither is needed to start: a call to one that is down is ``unavailable``."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        app[HTTP] = session
        app[DIRECTORY] = UserDirectory(app[SETTINGS], session)
        app[SEARCH] = SearchClient(app[SETTINGS], session)
        yield


async def kafka_producer_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    await ensure_topics(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        # A send goes at once (2 ms of linger were 2-4 ms of an idle message: 13.4 against
        # 11.3 ms, the same hour); under load what gathers behind the batch in flight goes
        # in the next one whole (one in flight per partition, idempotence), not in 16 KiB
        # pieces one round trip each.
        linger_ms=0,
        max_batch_size=BATCH_BYTES,
        partitioner=KeyPartitioner(),
    )
    await producer.start()
    app[PRODUCER] = producer
    yield
    await producer.stop()


async def sockets_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, sio, manager = app[SETTINGS], app[SIO], app[MANAGER]
    bus = RequestBus(settings, app[PRODUCER], partial(tell_rejected, sio, app[METRICS]))
    presence = Presence(
        app[REDIS],
        settings.socketio_channel,
        settings.presence_ttl,
        partial(announce, sio, app[READS]),
    )
    await bus.start()
    presence.start()
    limits = app[LIMITS] = RateLimits(app[REDIS], settings.socketio_channel, settings.limits())
    namespace = ChatNamespace(
        settings,
        bus,
        app[SEEN],
        app[READS],
        app[DELIVERY],
        presence,
        app[DIRECTORY],
        app[SEARCH],
        limits,
        app[METRICS],
    )
    sio.register_namespace(namespace)
    stop = asyncio.Event()
    tasks = app[TASKS]
    watching = tasks.watch("event loop watch", asyncio.create_task(app[DELIVERY].lag.watch_loop()))
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
                partial(revoke_sessions, namespace),
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
    for task in (shedding, watching):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    _, late = await asyncio.wait([revocations], timeout=5)
    for task in late:  # not awaited: a read Redis will not let go of must not hang shutdown
        log.warning("the revocations listener did not stop in 5 s")
        task.cancel()
    await presence.stop()
    await bus.stop()
    await app[MANAGER].close()


async def log_reader_ctx(app: web.Application) -> AsyncIterator[None]:
    started = asyncio.Event()
    reader = LogReader(app[SETTINGS], app[SEEN], app[DELIVERY], app[METRICS])
    task = asyncio.create_task(reader.follow(started))
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
        except ValueError:  # the last ones left between the look and the disconnect-all
            pass
    await app[SIO].shutdown()
