"""POST /logout: the session's refresh token is spent and can no longer be exchanged."""

from __future__ import annotations

import pytest

from tests.integration.auth.helpers import Client, NewAccount, error_of

pytestmark = pytest.mark.integration


async def test_a_logged_out_refresh_token_is_refused(
    client: Client, new_account: NewAccount
) -> None:
    account = await new_account()
    response = await client.post("/logout", json={"refresh_token": account.refresh_token})
    assert response.status == 204
    refused = await client.post("/refresh", json={"refresh_token": account.refresh_token})
    assert (await error_of(refused, 401))["code"] == "token_invalid"


async def test_logout_refuses_a_forged_token(client: Client, new_account: NewAccount) -> None:
    account = await new_account()
    forged = account.refresh_token[:-4] + (
        "AAAA" if not account.refresh_token.endswith("AAAA") else "BBBB"
    )
    response = await client.post("/logout", json={"refresh_token": forged})
    assert (await error_of(response, 401))["code"] == "token_invalid"
    still = await client.post("/refresh", json={"refresh_token": account.refresh_token})
    assert still.status == 200
