"""The JWT contract in records.tokens, as auth relies on it: every way a token must be refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from pydantic import SecretStr

from records.settings import JwtSettings
from records.tokens import InvalidToken, issue_token, verify_token

SECRET = "unit-test-secret-" + "k" * 48  # 64 bytes: long enough for HS512 too


@pytest.fixture
def settings() -> JwtSettings:
    return JwtSettings(jwt_secret=SecretStr(SECRET), jwt_issuer="chat-auth", jwt_audience="chat")


def _claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": "u1",
        "name": "alice",
        "typ": "access",
        "jti": "j1",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "iss": "chat-auth",
        "aud": "chat",
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def _refused(settings: JwtSettings, token: str, expected: str = "access") -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        verify_token(settings, token, expected)  # type: ignore[arg-type]
    return caught.value


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_issued_token_carries_every_claim(settings: JwtSettings) -> None:
    token, issued = issue_token(
        settings, user_id="u1", username="alice", token_type="access", ttl=timedelta(minutes=15)
    )
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], audience="chat", issuer="chat-auth")
    assert payload["sub"] == "u1"
    assert payload["name"] == "alice"
    assert payload["typ"] == "access"
    assert payload["jti"] == issued.token_id
    assert payload["iss"] == "chat-auth"
    assert payload["aud"] == "chat"
    assert payload["exp"] - payload["iat"] == pytest.approx(15 * 60)
    verified = verify_token(settings, token, "access")
    assert verified == issued


def test_each_token_has_its_own_id(settings: JwtSettings) -> None:
    ids = {
        issue_token(
            settings, user_id="u1", username="alice", token_type="refresh", ttl=timedelta(days=1)
        )[1].token_id
        for _ in range(5)
    }
    assert len(ids) == 5


def test_expired_token_is_refused(settings: JwtSettings) -> None:
    token, _ = issue_token(
        settings, user_id="u1", username="alice", token_type="access", ttl=timedelta(seconds=-60)
    )
    assert _refused(settings, token).code == "token_expired"


def test_forged_signature_is_refused(settings: JwtSettings) -> None:
    forged = jwt.encode(_claims(), "another-secret-" + "x" * 49, "HS256")
    assert _refused(settings, forged).code == "token_invalid"


def test_tampered_payload_is_refused(settings: JwtSettings) -> None:
    token, _ = issue_token(
        settings, user_id="u1", username="alice", token_type="access", ttl=timedelta(minutes=5)
    )
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    tampered = ".".join([header, _b64({**claims, "sub": "admin"}), signature])
    assert tampered.split(".")[1] != payload
    assert _refused(settings, tampered).code == "token_invalid"


def test_wrong_audience_is_refused(settings: JwtSettings) -> None:
    token = jwt.encode(_claims(aud="somebody-else"), SECRET, "HS256")
    assert _refused(settings, token).code == "token_invalid"


def test_wrong_issuer_is_refused(settings: JwtSettings) -> None:
    token = jwt.encode(_claims(iss="evil-auth"), SECRET, "HS256")
    assert _refused(settings, token).code == "token_invalid"


def test_refresh_token_is_not_an_access_token(settings: JwtSettings) -> None:
    token, _ = issue_token(
        settings, user_id="u1", username="alice", token_type="refresh", ttl=timedelta(days=1)
    )
    assert _refused(settings, token, "access").code == "token_invalid"
    assert verify_token(settings, token, "refresh").token_type == "refresh"


def test_access_token_is_not_a_refresh_token(settings: JwtSettings) -> None:
    token, _ = issue_token(
        settings, user_id="u1", username="alice", token_type="access", ttl=timedelta(minutes=5)
    )
    assert _refused(settings, token, "refresh").code == "token_invalid"


def test_unknown_token_type_is_refused(settings: JwtSettings) -> None:
    token = jwt.encode(_claims(typ="admin"), SECRET, "HS256")
    assert _refused(settings, token).code == "token_invalid"


def test_alg_none_token_is_refused(settings: JwtSettings) -> None:
    payload = jwt.decode(
        jwt.encode(_claims(), SECRET, "HS256"), options={"verify_signature": False}
    )
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."
    assert _refused(settings, unsigned).code == "token_invalid"


def test_other_hmac_algorithm_is_refused(settings: JwtSettings) -> None:
    # Signed with the right key, but the verifier pins HS256.
    token = jwt.encode(_claims(), SECRET, "HS512")
    assert _refused(settings, token).code == "token_invalid"


@pytest.mark.parametrize("claim", ["sub", "name", "typ", "jti", "iat", "exp", "iss", "aud"])
def test_token_missing_a_claim_is_refused(settings: JwtSettings, claim: str) -> None:
    token = jwt.encode(_claims(**{claim: None}), SECRET, "HS256")
    assert _refused(settings, token).code == "token_invalid"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "ünïcode.tøken.x"])
def test_malformed_tokens_are_refused(settings: JwtSettings, token: str) -> None:
    assert _refused(settings, token).code in {"token_missing", "token_invalid"}
