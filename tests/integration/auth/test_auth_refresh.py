"""POST /refresh: rotation, reuse detection, and every kind of token it must refuse."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest

from auth.settings import Settings
from records.tokens import issue_token, verify_token
from tests.integration.auth.helpers import Client, NewAccount, error_of

pytestmark = pytest.mark.integration


async def refresh(client: Client, token: Any) -> Any:
    return await client.post("/refresh", json={"refresh_token": token})


async def test_refresh_returns_a_new_pair(
    client: Client, settings: Settings, new_account: NewAccount
) -> None:
    account = await new_account()
    response = await refresh(client, account.refresh_token)
    assert response.status == 200
    body = await response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["refresh_token"] != account.refresh_token
    assert verify_token(settings, body["access_token"]).user_id == account.user_id
    # The new refresh token works in turn.
    assert (await refresh(client, body["refresh_token"])).status == 200


async def test_reused_refresh_token_is_refused_and_revokes_the_users_tokens(
    client: Client, new_account: NewAccount
) -> None:
    account = await new_account()
    rotated = await (await refresh(client, account.refresh_token)).json()

    error = await error_of(await refresh(client, account.refresh_token), 401)
    assert error["code"] == "token_invalid"

    # Whoever holds the rotated token has to log in again.
    error = await error_of(await refresh(client, rotated["refresh_token"]), 401)
    assert error["code"] == "token_invalid"


async def test_reuse_revokes_the_users_other_sessions_but_not_other_users(
    client: Client, new_account: NewAccount
) -> None:
    alice = await new_account("alice")
    bob = await new_account("bob")
    other_session = await client.post(
        "/login", json={"username": alice.username, "password": alice.password}
    )
    alice_elsewhere = (await other_session.json())["refresh_token"]

    assert (await refresh(client, alice.refresh_token)).status == 200
    await error_of(await refresh(client, alice.refresh_token), 401)

    await error_of(await refresh(client, alice_elsewhere), 401)
    assert (await refresh(client, bob.refresh_token)).status == 200
    # Logging in again starts over.
    fresh = await client.post(
        "/login", json={"username": alice.username, "password": alice.password}
    )
    assert (await refresh(client, (await fresh.json())["refresh_token"])).status == 200


async def test_access_token_is_not_a_refresh_token(client: Client, new_account: NewAccount) -> None:
    account = await new_account()
    error = await error_of(await refresh(client, account.access_token), 401)
    assert error["code"] == "token_invalid"


async def test_expired_refresh_token_is_refused(
    client: Client, settings: Settings, new_account: NewAccount
) -> None:
    account = await new_account()
    expired, _ = issue_token(
        settings,
        user_id=account.user_id,
        username=account.username,
        token_type="refresh",
        ttl=timedelta(seconds=-60),
    )
    assert (await error_of(await refresh(client, expired), 401))["code"] == "token_expired"


async def test_forged_refresh_token_is_refused(
    client: Client, settings: Settings, new_account: NewAccount
) -> None:
    account = await new_account()
    claims = jwt.decode(account.refresh_token, options={"verify_signature": False})
    forged = jwt.encode(claims, "an-attacker-key-that-is-long-enough-0123456789", "HS256")
    assert (await error_of(await refresh(client, forged), 401))["code"] == "token_invalid"


async def test_signed_but_never_issued_refresh_token_is_refused(
    client: Client, settings: Settings, new_account: NewAccount
) -> None:
    account = await new_account()
    unknown, _ = issue_token(
        settings,
        user_id=account.user_id,
        username=account.username,
        token_type="refresh",
        ttl=timedelta(days=1),
    )
    assert (await error_of(await refresh(client, unknown), 401))["code"] == "token_invalid"
    # An unknown token is not a reuse: the user's real token still works.
    assert (await refresh(client, account.refresh_token)).status == 200


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
async def test_malformed_refresh_token_is_401(client: Client, token: str) -> None:
    assert (await error_of(await refresh(client, token), 401))["code"] == "token_invalid"


@pytest.mark.parametrize("payload", [{}, {"refresh_token": ""}, {"refresh_token": 1}])
async def test_refresh_body_is_validated(client: Client, payload: dict[str, Any]) -> None:
    error = await error_of(await client.post("/refresh", json=payload), 422)
    assert set(error["fields"]) == {"refresh_token"}
