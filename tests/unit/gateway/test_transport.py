"""The gateway declines WebSocket compression unless it is turned on."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.transport import websocket_compression


async def echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        await ws.send_str(message.data)
    return ws


@pytest.mark.parametrize("enabled", [False, True])
async def test_compression_offer_is_declined_unless_enabled(enabled: bool) -> None:
    app = web.Application(middlewares=[websocket_compression(enabled)])
    app.router.add_get("/ws", echo)
    async with TestClient(TestServer(app)) as client:
        ws = await client.ws_connect("/ws", compress=15)  # offers permessage-deflate
        await ws.send_str("hello")
        assert (await ws.receive_str()) == "hello"
        assert bool(ws.compress) is enabled
        await ws.close()
