"""An emit to this node's sockets puts one encoded packet on each recipient's queue in turn:
every socket of the room gets it once, in order, but those skipped; and it can say when the
first recipient's writer takes it."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.manager import RedisManager


async def test_an_emit_here_reaches_each_socket_of_the_room_once_in_order() -> None:
    manager = RedisManager("redis://127.0.0.1:1/0")  # never reached: no emit goes to Redis
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager)
    sio.manager_initialized = True  # no listener for other nodes' emits
    app = web.Application()
    sio.attach(app)
    sids: list[str] = []
    all_in, all_got = asyncio.Event(), asyncio.Event()
    want = [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [6]]

    @sio.event
    async def connect(sid: str, environ: Any) -> None:
        await sio.enter_room(sid, "room")
        sids.append(sid)
        if len(sids) == 3:
            all_in.set()

    clients = [socketio.AsyncClient() for _ in range(3)]
    got: list[list[int]] = [[] for _ in clients]

    def receiver(seen: list[int]) -> Any:
        def receive(data: dict[str, int]) -> None:
            seen.append(data["n"])
            if got == want:
                all_got.set()

        return receive

    for client, seen in zip(clients, got, strict=True):
        client.on("message", receiver(seen))
    async with TestServer(app) as server:
        url = f"http://127.0.0.1:{server.port}"
        for client in clients:
            await client.connect(url, transports=["websocket"])
        await asyncio.wait_for(all_in.wait(), 10)
        for n in range(1, 6):
            await sio.emit("message", {"n": n}, room="room", skip_sid=sids[2], ignore_queue=True)
        written: list[int] = []
        await manager.emit_here(
            "message", {"n": 6}, "/", sids[2], None, written=lambda: written.append(6)
        )
        await asyncio.wait_for(all_got.wait(), 10)
        for client in clients:
            await client.disconnect()
    assert got == want
    assert written == [6], "told once, as the socket's writer took the packet"
