"""GET /me: the bearer access token, and each way it can be missing or wrong."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import jwt
import pytest
from aiohttp import ClientResponse
from pydantic import SecretStr

from auth.settings import Settings
from records.tokens import issue_token
from tests.integration.auth.helpers import Client, NewAccount, error_of

pytestmark = pytest.mark.integration


async def me(client: Client, authorization: str | None) -> ClientResponse:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return await client.get("/me", headers=headers)


async def test_me_returns_the_user(client: Client, new_account: NewAccount) -> None:
    account = await new_account()
    response = await client.get("/me", headers={"Authorization": f"Bearer {account.access_token}"})
    assert response.status == 200
    body = await response.json()
    assert set(body) == {"user_id", "username", "created_at"}
    assert (body["user_id"], body["username"]) == (account.user_id, account.username)
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None


async def test_scheme_is_case_insensitive(client: Client, new_account: NewAccount) -> None:
    account = await new_account()
    response = await me(client, f"bearer {account.access_token}")
    assert response.status == 200


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer   ", "Basic YWxpY2U6eA=="])
async def test_missing_token_is_401(client: Client, authorization: str | None) -> None:
    response = await me(client, authorization)
    assert (await error_of(response, 401))["code"] == "token_missing"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_expired_access_token_is_401(
    client: Client, settings: Settings, new_account: NewAccount
) -> None:
    account = await new_account()
    expired, _ = issue_token(
        settings,
        user_id=account.user_id,
        username=account.username,
        token_type="access",
        ttl=timedelta(seconds=-60),
    )
    error = await error_of(await me(client, f"Bearer {expired}"), 401)
    assert error["code"] == "token_expired"


async def test_forged_access_token_is_401(
    client: Client, settings: Settings, new_account: NewAccount
) -> None:
    account = await new_account()
    attacker = settings.model_copy(
        update={"jwt_secret": SecretStr("an-attacker-key-that-is-long-enough-0123456789")}
    )
    forged, _ = issue_token(
        attacker,
        user_id=account.user_id,
        username=account.username,
        token_type="access",
        ttl=timedelta(minutes=5),
    )
    error = await error_of(await me(client, f"Bearer {forged}"), 401)
    assert error["code"] == "token_invalid"


async def test_unsigned_access_token_is_401(client: Client, new_account: NewAccount) -> None:
    account = await new_account()
    claims = jwt.decode(account.access_token, options={"verify_signature": False})

    def b64(data: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    error = await error_of(await me(client, f"Bearer {unsigned}"), 401)
    assert error["code"] == "token_invalid"


async def test_refresh_token_is_not_an_access_token(
    client: Client, new_account: NewAccount
) -> None:
    account = await new_account()
    error = await error_of(await me(client, f"Bearer {account.refresh_token}"), 401)
    assert error["code"] == "token_invalid"


async def test_token_of_a_user_that_does_not_exist_is_401(
    client: Client, settings: Settings
) -> None:
    token, _ = issue_token(
        settings, user_id="no-such-user", username="ghost", token_type="access", ttl=timedelta(1)
    )
    error = await error_of(await me(client, f"Bearer {token}"), 401)
    assert error["code"] == "token_invalid"


async def test_token_for_another_audience_is_401(
    client: Client, settings: Settings, new_account: NewAccount
) -> None:
    account = await new_account()
    elsewhere = settings.model_copy(update={"jwt_audience": "another-service"})
    token, _ = issue_token(
        elsewhere,
        user_id=account.user_id,
        username=account.username,
        token_type="access",
        ttl=timedelta(minutes=5),
    )
    error = await error_of(await me(client, f"Bearer {token}"), 401)
    assert error["code"] == "token_invalid"
