"""Whose failures a login counts against: behind a trusted proxy, the address the proxy saw,
never one the client wrote into X-Forwarded-For itself."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from pydantic import SecretStr

from auth.handlers import client_address
from auth.settings import Settings
from auth.typedefs import settings_key


def request_from(trust: bool, forwarded: str | None) -> web.Request:
    app = web.Application()
    app[settings_key] = Settings(
        mongodb_uri="mongodb://db:27017/", jwt_secret=SecretStr("s" * 32), trust_forwarded_for=trust
    )
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return make_mocked_request("POST", "/login", headers=headers, app=app)


def test_behind_a_proxy_the_last_hop_counts_not_what_the_client_wrote() -> None:
    assert client_address(request_from(True, "6.6.6.6, 203.0.113.7")) == "203.0.113.7"
    assert client_address(request_from(True, "203.0.113.7")) == "203.0.113.7"


def test_without_a_trusted_proxy_the_header_is_ignored() -> None:
    assert client_address(request_from(False, "6.6.6.6")) != "6.6.6.6"
