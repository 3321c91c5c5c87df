"""Revoked sessions: a stolen refresh token used again closes the person's sockets on every
gateway node, and their older access tokens no longer connect; a retry is not a theft."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import socketio

from tests.integration.message_path.conftest import NewClient, Start, connected

StartAuth = Callable[..., Awaitable[str]]


async def post(url: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}{path}", json=body) as response:
            return response.status, (await response.json() if response.status != 204 else {})


async def signed_in(auth_url: str) -> dict[str, Any]:
    credentials = {"username": f"s_{secrets.token_hex(4)}", "password": secrets.token_urlsafe(12)}
    status, _ = await post(auth_url, "/register", credentials)
    assert status == 201
    status, pair = await post(auth_url, "/login", credentials)
    assert status == 200
    return pair


async def test_a_stolen_refresh_token_closes_the_persons_sockets_everywhere(
    start_auth: StartAuth, start_gateway: Start, new_client: NewClient
) -> None:
    auth_url = await start_auth(refresh_reuse_grace=0)
    first, second = await start_gateway(), await start_gateway()
    pair = await signed_in(auth_url)
    here = await connected(new_client, first, pair["access_token"])
    there = await connected(new_client, second, pair["access_token"])

    status, _ = await post(auth_url, "/refresh", {"refresh_token": pair["refresh_token"]})
    assert status == 200  # the owner's own refresh
    status, error = await post(auth_url, "/refresh", {"refresh_token": pair["refresh_token"]})
    assert (status, error["error"]["code"]) == (401, "token_invalid")  # the thief's

    for client in (here, there):
        assert await client.next("session_revoked") == {"code": "token_revoked"}
    for _ in range(50):
        if not here.sio.connected and not there.sio.connected:
            break
        await asyncio.sleep(0.1)
    assert not here.sio.connected and not there.sio.connected
    again = new_client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect(first, pair["access_token"])
    assert again.connect_errors[-1]["data"] == {"code": "token_revoked"}
    # Nor does the REST mirror take the old access token.
    async with aiohttp.ClientSession() as http:
        bearer = {"Authorization": f"Bearer {pair['access_token']}"}
        async with http.get(f"{first}/groups", headers=bearer) as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "token_revoked"


async def test_a_refresh_retried_at_once_from_the_same_place_is_not_a_theft(
    start_auth: StartAuth, start_gateway: Start, new_client: NewClient
) -> None:
    auth_url = await start_auth(refresh_reuse_grace=10)
    url = await start_gateway()
    pair = await signed_in(auth_url)
    client = await connected(new_client, url, pair["access_token"])
    body = {"refresh_token": pair["refresh_token"]}
    (status_one, one), (status_two, two) = [await post(auth_url, "/refresh", body) for _ in "12"]
    assert (status_one, status_two) == (200, 200)
    # Both new refresh tokens work, and the socket stays.
    for fresh in (one, two):
        status, _ = await post(auth_url, "/refresh", {"refresh_token": fresh["refresh_token"]})
        assert status == 200
    # A later revocation, of someone else on the same node: the node handles them in the
    # order announced, so had the retry revoked this person's sessions, this socket would
    # have been told (and closed) before the call below is answered.
    other = await signed_in(auth_url)
    witness = await connected(new_client, url, other["access_token"])
    await post(auth_url, "/logout", {"refresh_token": other["refresh_token"]})
    status, _ = await post(auth_url, "/refresh", {"refresh_token": other["refresh_token"]})
    assert status == 401  # spent by the logout: a theft
    assert await witness.next("session_revoked") == {"code": "token_revoked"}
    await client.ok("groups")
    assert client.sio.connected and client.taken("session_revoked") == []

    status, _ = await post(auth_url, "/logout", {"refresh_token": two["refresh_token"]})
    assert status == 204
    # After a logout the token is spent for good, retry or not.
    status, error = await post(auth_url, "/refresh", {"refresh_token": two["refresh_token"]})
    assert status == 401
    assert await client.next("session_revoked") == {"code": "token_revoked"}


async def test_failed_logins_make_the_next_attempt_wait(start_auth: StartAuth) -> None:
    auth_url = await start_auth(login_free_failures=3)
    name = f"t_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    assert (await post(auth_url, "/register", {"username": name, "password": password}))[0] == 201
    for _ in range(3):
        status, _ = await post(auth_url, "/login", {"username": name, "password": "wrong-guess"})
        assert status == 401
    async with aiohttp.ClientSession() as http:
        body = {"username": name, "password": password}  # even the right one must wait
        async with http.post(f"{auth_url}/login", json=body) as response:
            assert response.status == 429
            assert int(response.headers["Retry-After"]) >= 1
            assert (await response.json())["error"]["code"] == "too_many_attempts"
    await asyncio.sleep(1.1)
    assert (await post(auth_url, "/login", {"username": name, "password": password}))[0] == 200


async def test_auth_is_ready_only_with_the_redis_it_announces_revocations_on(
    start_auth: StartAuth,
) -> None:
    auth_url = await start_auth()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{auth_url}/readyz") as response:
            assert response.status == 200
            assert (await response.json())["checks"] == {"mongodb": True, "redis": True}
    away = await start_auth(redis_url="redis://127.0.0.1:1/0")  # nothing listens there
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{away}/readyz") as response:
            assert response.status == 503
            assert (await response.json())["checks"]["redis"] is False
