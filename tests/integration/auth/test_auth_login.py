"""POST /login: the token pair, one answer for every failure, and rehash on login."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from auth.settings import Settings
from records.tokens import verify_token
from tests.integration.auth.helpers import PASSWORD, Client, error_of, login, register, start_client

pytestmark = pytest.mark.integration


async def test_login_returns_a_token_pair(client: Client, settings: Settings) -> None:
    user = await register(client, "alice")
    body = await login(client, "alice")
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_ttl

    access = verify_token(settings, body["access_token"], "access")
    assert (access.user_id, access.username) == (user["user_id"], "alice")
    ttl = access.expires_at - access.issued_at
    assert ttl.total_seconds() == settings.access_token_ttl
    refresh = verify_token(settings, body["refresh_token"], "refresh")
    assert refresh.user_id == user["user_id"]
    assert refresh.token_id != access.token_id


async def test_login_ignores_username_case(client: Client, settings: Settings) -> None:
    await register(client, "Alice")
    body = await login(client, "ALICE")
    # The token carries the name as registered.
    assert verify_token(settings, body["access_token"]).username == "Alice"


async def test_wrong_password_and_unknown_user_look_the_same(client: Client) -> None:
    await register(client, "alice")
    wrong_password = await client.post(
        "/login", json={"username": "alice", "password": "not the password"}
    )
    unknown_user = await client.post(
        "/login", json={"username": "nobody", "password": "not the password"}
    )
    expected = {"code": "invalid_credentials", "message": "invalid username or password"}
    assert await error_of(wrong_password, 401) == expected
    assert await error_of(unknown_user, 401) == expected


async def test_login_body_is_validated(client: Client) -> None:
    error = await error_of(await client.post("/login", json={"username": "alice"}), 422)
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"password"}
    response = await client.post("/login", data=b"alice:secret")
    assert (await error_of(response, 400))["code"] == "invalid_json"


async def test_login_rehashes_a_password_hashed_with_old_parameters(
    client: Client, settings: Settings, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    user = await register(client, "alice")
    users = mongo[settings.mongodb_database]["users"]
    old_hash = (await users.find_one({"_id": user["user_id"]}) or {})["password_hash"]
    assert "t=1" in old_hash

    stronger = settings.model_copy(update={"argon2_time_cost": 2})
    upgraded = await start_client(stronger)
    try:
        await login(upgraded, "alice")
        new_hash = (await users.find_one({"_id": user["user_id"]}) or {})["password_hash"]
        assert new_hash != old_hash
        assert "t=2" in new_hash
        # The rehashed password still logs in, and is not rehashed again.
        await login(upgraded, "alice", PASSWORD)
        assert (await users.find_one({"_id": user["user_id"]}) or {})["password_hash"] == new_hash
    finally:
        await upgraded.close()
