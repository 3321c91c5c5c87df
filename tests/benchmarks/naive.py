"""The design the project started from, built naively: the benchmark's middle peer.

    .venv/bin/python -m tests.benchmarks.naive --port 8091 --kafka 127.0.0.1:9092 \\
        --mongodb mongodb://127.0.0.1:27017/

The same client protocol as ``bare.py`` as far as the benchmark uses it, on one aiohttp +
python-socketio node with uvloop, its WebSocket frames uncompressed like the gateway's. A
message goes the way the first sketch drew it: ``send`` is produced to a requests topic
(acks=all, no transactions) and acknowledged once Kafka has it; a consumer (auto commit: at
least once) numbers it from an in-memory counter per group, inserts it into MongoDB, one
document and one await at a time, and produces it to a saved topic; a second consumer emits it
to the group's room. Nothing keeps a seq across a restart or a redelivery from being counted
twice: what the chat does beyond this is what that costs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import socketio
import uvloop
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from gateway.transport import websocket_compression
from tests.benchmarks.bare import serve_groups

log = logging.getLogger("naive")

PARTITIONS = 4
"""A few partitions, keyed by group: a group's messages stay in order."""

Document = dict[str, Any]


@dataclass(frozen=True)
class Settings:
    """Where the servers are; topics, consumer groups and database are new on every start."""

    kafka: str
    mongodb: str
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def requests(self) -> str:
        return f"naive-requests-{self.run}"

    @property
    def saved(self) -> str:
        return f"naive-saved-{self.run}"


SETTINGS = web.AppKey("settings", Settings)
SIO = web.AppKey("sio", socketio.AsyncServer)
SEQS = web.AppKey("seqs", dict[str, int])
"""Each group's last seq: the naive design's counter, in this process's memory only."""
PRODUCER = web.AppKey("producer", AIOKafkaProducer)
MONGO = web.AppKey("mongo", AsyncMongoClient[Document])


def create_app(settings: Settings) -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
    app = web.Application(middlewares=[websocket_compression(False)])  # framed as the gateway
    sio.attach(app)
    app[SETTINGS], app[SIO], app[SEQS] = settings, sio, {}
    app.cleanup_ctx.extend([mongo_ctx, producer_ctx, pipeline_ctx])
    serve_groups(sio, app[SEQS])

    @sio.event
    async def send(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        request = {key: data[key] for key in ("group_id", "client_msg_id", "body")}
        await app[PRODUCER].send_and_wait(settings.requests, request, key=data["group_id"])
        return {"ok": True, "client_msg_id": data["client_msg_id"]}

    return app


async def mongo_ctx(app: web.Application) -> AsyncIterator[None]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(app[SETTINGS].mongodb, tz_aware=True)
    app[MONGO] = client
    yield
    await client.close()


async def producer_ctx(app: web.Application) -> AsyncIterator[None]:
    """The producer both the handlers and the numbering consumer use, and the run's topics."""
    settings = app[SETTINGS]
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka,
        acks="all",
        key_serializer=str.encode,
        value_serializer=orjson.dumps,
    )
    await producer.start()
    app[PRODUCER] = producer
    try:
        await create_topics(settings.kafka, [settings.requests, settings.saved])
        for topic in (settings.requests, settings.saved):
            await producer.partitions_for(topic)  # waits until the topic has leaders
        yield
    finally:
        await producer.stop()


async def create_topics(kafka: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in names])
    finally:
        await admin.close()


def consumer(settings: Settings, topic: str, stage: str) -> AIOKafkaConsumer:
    """A consumer in a group of its own that commits on its own: at least once. It reads from
    the start, so nothing produced before its group was assigned is skipped."""
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka,
        group_id=f"naive-{settings.run}-{stage}",
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        value_deserializer=orjson.loads,
    )


async def pipeline_ctx(app: web.Application) -> AsyncIterator[None]:
    """The two consumers, each a task for as long as the app runs."""
    settings = app[SETTINGS]
    requests = consumer(settings, settings.requests, "save")
    saved = consumer(settings, settings.saved, "deliver")
    await requests.start()
    await saved.start()
    messages = app[MONGO][f"naive_{settings.run}"]["messages"]
    tasks = [
        asyncio.create_task(
            save_messages(requests, messages, app[SEQS], app[PRODUCER], settings), name="save"
        ),
        asyncio.create_task(deliver_messages(saved, app[SIO]), name="deliver"),
    ]
    for task in tasks:
        task.add_done_callback(report_crash)
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # a crash is logged already
        await requests.stop()
        await saved.stop()


async def save_messages(
    requests: AIOKafkaConsumer,
    messages: AsyncCollection[Document],
    seqs: dict[str, int],
    producer: AIOKafkaProducer,
    settings: Settings,
) -> None:
    """Number each request from its group's counter, insert it, produce it as saved: one
    message at a time, in the order the partition holds them."""
    async for record in requests:
        request = record.value
        group_id = request["group_id"]
        seqs[group_id] = seqs.get(group_id, 0) + 1
        message = {
            **request,
            "seq": seqs[group_id],
            "saved_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        await messages.insert_one(dict(message))  # a copy: insert_one adds an ObjectId _id
        # Queued, not waited on: the producer batches in order, and the step the design takes
        # one message at a time is the insert (waiting here too would halve what it carries).
        await producer.send(settings.saved, message, key=group_id)


async def deliver_messages(saved: AIOKafkaConsumer, sio: socketio.AsyncServer) -> None:
    """Emit each saved message to its group's room."""
    async for record in saved:
        await sio.emit("message", record.value, room=record.value["group_id"])


def report_crash(task: asyncio.Task[None]) -> None:
    """A consumer that died shows in the benchmark as lost deliveries; its log says why."""
    if not task.cancelled() and task.exception() is not None:
        log.error("the %s consumer stopped", task.get_name(), exc_info=task.exception())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--kafka", required=True, metavar="HOST:PORT[,HOST:PORT]")
    parser.add_argument("--mongodb", required=True, metavar="URI")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)  # no access log, as bare.py has none
    web.run_app(
        create_app(Settings(kafka=args.kafka, mongodb=args.mongodb)),
        host="127.0.0.1",
        port=args.port,
        loop=uvloop.new_event_loop(),
        print=None,
    )


if __name__ == "__main__":
    main()
