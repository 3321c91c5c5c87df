"""Helpers shared by the auth integration tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from auth.app import create_app
from auth.settings import Settings

Client = TestClient[web.Request, web.Application]
PASSWORD = "correct horse battery"


async def start_client(settings: Settings) -> Client:
    """The real app from ``create_app(settings)``, served in-process."""
    client: Client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


@dataclass(frozen=True)
class Account:
    user_id: str
    username: str
    password: str
    access_token: str
    refresh_token: str


async def register(client: Client, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/register", json={"username": username, "password": password})
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def login(client: Client, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/login", json={"username": username, "password": password})
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def error_of(response: Any, status: int) -> dict[str, Any]:
    """The ``error`` object of a JSON error response, after checking its status."""
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body: dict[str, Any] = await response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    return error


NewAccount = Callable[..., Awaitable[Account]]
