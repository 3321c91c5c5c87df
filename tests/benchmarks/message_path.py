"""End-to-end throughput of the message path, against a running system.

    SEND_BURST=1000000 ./dev up                   # in one terminal; one socket sends it all
    .venv/bin/python -m tests.benchmarks.message_path --messages 1000

Two users register and log in through auth, connect to the gateway, join a fresh group; one
sends ``--messages`` messages (at most ``--window`` unacknowledged at a time) and both wait
until every message has come back as a saved ``message``. Figures: messages per second from
the first send to the last delivery, and send→delivery latency percentiles.

The baseline runs the same clients and workload, in the same process, against a bare
python-socketio server that broadcasts each ``send`` at once (no Kafka, no MongoDB, no
Redis): the ratio says what the durable path costs against Socket.IO alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import socketio
from aiohttp import web


@dataclass
class Run:
    messages: int
    seconds: float
    latencies: list[float]
    acknowledged: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def describe(self, name: str) -> str:
        q = statistics.quantiles(self.latencies, n=100)
        return (
            f"{name:<10} {self.messages} messages in {self.seconds:.2f}s = {self.rate:,.0f} msg/s; "
            f"latency p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, "
            f"p99 {q[98] * 1000:.0f} ms; all sends acknowledged after {self.acknowledged:.2f}s"
        )


async def token_for(session: aiohttp.ClientSession, auth_url: str) -> str:
    credentials = {"username": f"bench-{uuid.uuid4().hex[:12]}", "password": uuid.uuid4().hex}
    async with session.post(f"{auth_url}/register", json=credentials) as response:
        response.raise_for_status()
    async with session.post(f"{auth_url}/login", json=credentials) as response:
        response.raise_for_status()
        return str((await response.json())["access_token"])


async def workload(url: str, tokens: list[str], count: int, window: int) -> Run:
    clients = [socketio.AsyncClient(reconnection=False) for _ in tokens]
    sent_at: dict[str, float] = {}
    arrived: list[dict[str, float]] = [{} for _ in clients]
    done = [asyncio.Event() for _ in clients]

    for index, client in enumerate(clients):

        def on_message(data: dict[str, Any], index: int = index) -> None:
            arrived[index][data["client_msg_id"]] = time.perf_counter()
            if len(arrived[index]) == count:
                done[index].set()

        client.on("message", on_message)
    for client, token in zip(clients, tokens, strict=True):
        await client.connect(url, auth={"token": token}, transports=["websocket"])
    created = await clients[0].call("create_group", {"name": "bench", "private": False})
    group_id = created["group_id"]
    for client in clients[1:]:
        await client.call("join", {"group_id": group_id})

    sender = clients[0]
    slots = asyncio.Semaphore(window)

    async def send(n: int) -> None:
        async with slots:
            msg_id = f"m{n}"
            sent_at[msg_id] = time.perf_counter()
            ack = await sender.call(
                "send",
                {"group_id": group_id, "client_msg_id": msg_id, "body": f"message {n}"},
                timeout=60,
            )
            if not ack.get("ok"):
                hint = ""
                if ack.get("error", {}).get("code") == "rate_limited":
                    hint = " (start the system with SEND_BURST=1000000 to lift the limit)"
                raise RuntimeError(f"send {n} refused: {ack}{hint}")

    started = time.perf_counter()
    try:
        await asyncio.gather(*(send(n) for n in range(count)))
        acknowledged = time.perf_counter() - started
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in done)), timeout=300)
    finally:
        for client in clients:
            await client.disconnect()
    finished = max(max(times.values()) for times in arrived)
    latencies = [times[m] - sent_at[m] for times in arrived for m in times]
    return Run(count, finished - started, latencies, acknowledged)


async def bare_socketio_server() -> tuple[web.AppRunner, str]:
    """The baseline: Socket.IO alone, broadcasting each send as soon as it arrives."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    app = web.Application()
    sio.attach(app)
    seq = 0

    @sio.event
    async def create_group(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        group_id = uuid.uuid4().hex
        await sio.enter_room(sid, group_id)
        return {"ok": True, "group_id": group_id}

    @sio.event
    async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await sio.enter_room(sid, data["group_id"])
        return {"ok": True}

    @sio.event
    async def send(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        nonlocal seq
        seq += 1
        await sio.emit("message", {**data, "seq": seq}, room=data["group_id"])
        return {"ok": True, "client_msg_id": data["client_msg_id"]}

    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--window", type=int, default=100, help="unacknowledged sends at most")
    parser.add_argument("--gateway", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080"))
    parser.add_argument(
        "--auth", default=os.environ.get("AUTH_SERVICE_URL", "http://127.0.0.1:8081")
    )
    args = parser.parse_args()

    async with aiohttp.ClientSession() as session:
        tokens = [await token_for(session, args.auth) for _ in range(2)]
    chat = await workload(args.gateway, tokens, args.messages, args.window)
    runner, bare_url = await bare_socketio_server()
    try:
        bare = await workload(bare_url, tokens, args.messages, args.window)
    finally:
        await runner.cleanup()
    print(chat.describe("chat"))
    print(bare.describe("baseline"))
    print(f"ratio      chat / bare Socket.IO throughput = {chat.rate / bare.rate:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
