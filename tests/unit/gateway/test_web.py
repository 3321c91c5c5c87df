"""The page and its files carry the browser's security policy wherever they are served."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from gateway.settings import Settings
from gateway.typedefs import SETTINGS
from gateway.web import web_routes


@pytest.mark.parametrize("path", ["/", "/static/index.html", "/static/style.css"])
async def test_every_file_of_the_page_carries_the_policy(path: str) -> None:
    app = web.Application()
    app[SETTINGS] = Settings(
        redis_url="redis://r", kafka_url="k:1", mongodb_uri="mongodb://m",
        jwt_secret=SecretStr("s" * 32), public_auth_url="https://auth.example:8443/x",
    )  # fmt: skip
    app.add_routes(web_routes)
    async with TestClient(TestServer(app)) as client:
        response = await client.get(path, headers={"Host": "chat.example"})
        assert response.status == 200
        header = response.headers["Content-Security-Policy"]
        policy = dict(part.strip().split(" ", 1) for part in header.split(";"))
    assert policy["frame-ancestors"] == "'none'"
    assert policy["script-src"] == "'self'"
    # Sockets to this host only, never to any host (``ws: wss:``).
    assert policy["connect-src"].split() == [
        "'self'", "ws://chat.example", "wss://chat.example", "https://auth.example:8443"
    ]  # fmt: skip
    assert response.headers["X-Frame-Options"] == "DENY"
