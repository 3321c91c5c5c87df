"""Connecting to the gateway: only a valid access token gets in, with a clear reason if not."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
import socketio
from pydantic import SecretStr

from gateway.settings import Settings
from records.tokens import issue_token
from tests.integration.message_path.conftest import (
    ChatClient,
    NewClient,
    Start,
    connected,
)


async def refused(client: ChatClient, url: str, token: str | None) -> dict[str, object]:
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(url, token)
    assert client.connect_errors, "the server sent no connect_error"
    error = client.connect_errors[-1]
    assert isinstance(error, dict)
    return error


async def test_connect_without_token_is_refused(
    start_gateway: Callable[[], Awaitable[str]], new_client: Callable[[], ChatClient]
) -> None:
    url = await start_gateway()
    error = await refused(new_client(), url, None)
    assert error["message"] == "an access token is required"
    assert error["data"] == {"code": "token_missing"}


async def test_connect_with_forged_token_is_refused(
    start_gateway: Callable[[], Awaitable[str]],
    new_client: Callable[[], ChatClient],
    gateway_settings: Settings,
) -> None:
    url = await start_gateway()
    forger = gateway_settings.model_copy(update={"jwt_secret": SecretStr("x" * 48)})
    forged, _ = issue_token(
        forger, user_id="u1", username="mallory", token_type="access", ttl=timedelta(minutes=5)
    )
    error = await refused(new_client(), url, forged)
    assert error["data"] == {"code": "token_invalid"}
    assert "signature" in str(error["message"]).lower()


async def test_connect_with_expired_token_is_refused(
    start_gateway: Callable[[], Awaitable[str]],
    new_client: Callable[[], ChatClient],
    token_for: Callable[..., str],
) -> None:
    url = await start_gateway()
    error = await refused(new_client(), url, token_for("old", ttl=timedelta(minutes=-5)))
    assert error == {"message": "the token has expired", "data": {"code": "token_expired"}}


async def test_connect_with_valid_token_is_accepted(
    start_gateway: Callable[[], Awaitable[str]],
    new_client: Callable[[], ChatClient],
    token_for: Callable[..., str],
) -> None:
    url = await start_gateway()
    client = new_client()
    await client.connect(url, token_for("alice"))
    assert client.sio.connected
    assert client.connect_errors == []


async def test_a_socket_is_closed_when_its_token_expires(
    start_gateway: Callable[[], Awaitable[str]],
    new_client: Callable[[], ChatClient],
    token_for: Callable[..., str],
) -> None:
    url = await start_gateway()
    client = new_client()
    await client.connect(url, token_for("brief", ttl=timedelta(seconds=7)))  # 5 s leeway
    assert await client.next("session_expired", within=10) == {"code": "token_expired"}
    for _ in range(50):
        if not client.sio.connected:
            break
        await asyncio.sleep(0.1)
    assert not client.sio.connected


async def test_a_person_has_a_bounded_number_of_sockets_on_all_nodes(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    first, second = (
        await start_gateway(max_sockets_per_user=2),
        await start_gateway(max_sockets_per_user=2),
    )
    one = await connected(new_client, first, token_for("many"))
    await connected(new_client, second, token_for("many"))
    third = new_client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await third.connect(first, token_for("many"))
    assert third.connect_errors[-1]["data"] == {"code": "too_many_sockets"}
    await connected(new_client, first, token_for("someone_else"))  # others are unaffected
    await one.sio.disconnect()
    # A freed place is taken again, once the node has seen the socket go.
    async with asyncio.timeout(10):
        while True:
            again = new_client()
            try:
                await again.connect(second, token_for("many"))
                break
            except socketio.exceptions.ConnectionError:
                assert again.connect_errors[-1]["data"] == {"code": "too_many_sockets"}
                await asyncio.sleep(0.05)
