"""A person's whole path: register and log in at auth, connect, join, send, receive."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from auth.app import create_app as create_auth_app
from auth.settings import Settings as AuthSettings
from gateway.settings import Settings
from tests.integration.message_path.conftest import ChatClient, create_group


@pytest.fixture
async def auth_url(gateway_settings: Settings) -> AsyncIterator[str]:
    settings = AuthSettings(
        mongodb_uri=gateway_settings.mongodb_uri,
        mongodb_database=gateway_settings.mongodb_database,
        jwt_secret=gateway_settings.jwt_secret,
        jwt_issuer=gateway_settings.jwt_issuer,
        jwt_audience=gateway_settings.jwt_audience,
        port=0,
    )
    runner = web.AppRunner(create_auth_app(settings))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def sign_up(http: aiohttp.ClientSession, auth_url: str, username: str) -> tuple[str, str]:
    credentials = {"username": username, "password": secrets.token_urlsafe(12)}
    async with http.post(f"{auth_url}/register", json=credentials) as response:
        assert response.status == 201, await response.text()
        user_id = (await response.json())["user_id"]
    async with http.post(f"{auth_url}/login", json=credentials) as response:
        assert response.status == 200, await response.text()
        return user_id, (await response.json())["access_token"]


async def test_people_registered_at_auth_talk_through_the_gateway(
    auth_url: str,
    start_gateway: Callable[[], Awaitable[str]],
    new_client: Callable[[], ChatClient],
) -> None:
    gateway_url = await start_gateway()
    suffix = secrets.token_hex(4)
    async with aiohttp.ClientSession() as http:
        ann_id, ann_token = await sign_up(http, auth_url, f"ann_{suffix}")
        _, ben_token = await sign_up(http, auth_url, f"ben_{suffix}")

    ann, ben = new_client(), new_client()
    for client, token in ((ann, ann_token), (ben, ben_token)):
        await client.connect(gateway_url, token)
    group_id = await create_group(ann, "lunch")
    await ben.ok("join", {"group_id": group_id})

    ack = await ann.call("send", {"group_id": group_id, "client_msg_id": "hi", "body": "hi Ben"})
    assert ack == {"ok": True, "client_msg_id": "hi"}
    received = await ben.next_message()
    assert (received["sender"], received["sender_id"], received["body"]) == (
        f"ann_{suffix}",
        ann_id,
        "hi Ben",
    )
    assert received == await ann.next_message()
