"""POST /register against a real MongoDB-protocol server, and the service's JSON errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from auth.settings import Settings
from tests.integration.auth.helpers import PASSWORD, Client, error_of, register

pytestmark = pytest.mark.integration


async def test_healthz_says_alive_and_readyz_pings_mongo(client: Client) -> None:
    response = await client.get("/healthz")
    assert (response.status, await response.json()) == (200, {"status": "alive"})
    response = await client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {"status": "ready", "tasks": {}, "checks": {"mongodb": True}}


async def test_metrics_count_logins_by_outcome(client: Client) -> None:
    await register(client, "metered_user")
    await client.post("/login", json={"username": "metered_user", "password": PASSWORD})
    await client.post("/login", json={"username": "metered_user", "password": "wrong-password"})
    text = await (await client.get("/metrics")).text()
    assert 'chat_auth_logins_total{outcome="ok"} 1.0' in text
    assert 'chat_auth_logins_total{outcome="invalid"} 1.0' in text
    assert "chat_auth_registrations_total 1.0" in text
    assert "chat_auth_argon2_waiting 0.0" in text


async def test_register_creates_user(
    client: Client, settings: Settings, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    response = await client.post("/register", json={"username": "Alice.B", "password": PASSWORD})
    assert response.status == 201
    body = await response.json()
    assert set(body) == {"user_id", "username"}
    assert body["username"] == "Alice.B"

    stored = await mongo[settings.mongodb_database]["users"].find_one({"_id": body["user_id"]})
    assert stored is not None
    assert stored["username_key"] == "alice.b"
    assert stored["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(stored)


async def test_taken_username_is_409(client: Client) -> None:
    await register(client, "alice")
    response = await client.post("/register", json={"username": "alice", "password": PASSWORD})
    error = await error_of(response, 409)
    assert error["code"] == "username_taken"
    assert error["message"]


async def test_usernames_are_unique_ignoring_case(client: Client) -> None:
    await register(client, "Alice")
    response = await client.post("/register", json={"username": "aLICE", "password": PASSWORD})
    assert (await error_of(response, 409))["code"] == "username_taken"


async def test_concurrent_registrations_of_one_name_create_one_user(client: Client) -> None:
    # No pre-check can win this race; the unique index has to.
    names = ["racer", "Racer", "RACER", "rAcEr", "racer", "RaCeR", "racER", "RACer"]
    responses = await asyncio.gather(
        *(client.post("/register", json={"username": n, "password": PASSWORD}) for n in names)
    )
    statuses = sorted(response.status for response in responses)
    assert statuses == [201] + [409] * 7


async def test_invalid_fields_are_422_with_messages_per_field(client: Client) -> None:
    response = await client.post(
        "/register", json={"username": "a b", "password": "short", "is_admin": True}
    )
    error = await error_of(response, 422)
    assert error["code"] == "validation_error"
    assert error["message"]
    assert set(error["fields"]) == {"username", "password", "is_admin"}
    assert all(isinstance(m, str) and m for ms in error["fields"].values() for m in ms)


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"username": "ab", "password": PASSWORD}, {"username"}),
        ({"username": "a" * 33, "password": PASSWORD}, {"username"}),
        ({"username": "bad/name", "password": PASSWORD}, {"username"}),
        ({"username": "alice", "password": "x" * 7}, {"password"}),
        ({"username": "alice", "password": "x" * 129}, {"password"}),
        ({"username": 123, "password": ["x"]}, {"username", "password"}),
        ({"password": PASSWORD}, {"username"}),
        ({}, {"username", "password"}),
    ],
)
async def test_each_rule_is_enforced(
    client: Client, payload: dict[str, Any], fields: set[str]
) -> None:
    error = await error_of(await client.post("/register", json=payload), 422)
    assert set(error["fields"]) == fields


@pytest.mark.parametrize(
    "body", [b"not json", b"", b"[1, 2]", b'"alice"', b"null", b"{", b"\xff\xfe", b"[" * 5000]
)
async def test_body_that_is_not_a_json_object_is_400(client: Client, body: bytes) -> None:
    response = await client.post(
        "/register", data=body, headers={"Content-Type": "application/json"}
    )
    assert (await error_of(response, 400))["code"] == "invalid_json"


async def test_oversized_body_is_413(client: Client) -> None:
    payload = {"username": "alice", "password": "x" * (17 * 1024)}
    response = await client.post("/register", json=payload)
    assert (await error_of(response, 413))["code"] == "payload_too_large"


async def test_unknown_route_and_wrong_method_are_json(client: Client) -> None:
    assert (await error_of(await client.get("/nope"), 404))["code"] == "not_found"
    response = await client.get("/register")
    assert (await error_of(response, 405))["code"] == "method_not_allowed"
