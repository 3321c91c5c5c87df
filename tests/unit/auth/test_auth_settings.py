"""Settings: environment names, defaults, and a missing secret failing at start by name."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from auth.settings import Settings

REQUIRED: dict[str, Any] = {"mongodb_uri": "mongodb://db:27017/", "jwt_secret": SecretStr("s" * 32)}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AUTH_PORT", "PORT", "AUTH_HOST", "HOST", "AUTH_CORS_ORIGINS", "CORS_ORIGINS"):
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = Settings(**REQUIRED)
    assert (settings.host, settings.port) == ("127.0.0.1", 8081)
    assert settings.access_token_ttl == 900
    assert settings.refresh_token_ttl == 14 * 24 * 3600
    assert settings.cors_origins == []


def test_port_from_auth_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_PORT", "9001")
    assert Settings(**REQUIRED).port == 9001


def test_port_by_keyword_for_tests() -> None:
    assert Settings(port=9002, **REQUIRED).port == 9002


def test_cors_origins_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_CORS_ORIGINS", "http://a.test, http://b.test")
    assert Settings(**REQUIRED).cors_origins == ["http://a.test", "http://b.test"]


def test_missing_required_values_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONGODB_URI", raising=False)
    monkeypatch.delenv("JWT_SECRET", raising=False)
    with pytest.raises(ValidationError) as caught:
        Settings()  # type: ignore[call-arg]
    missing = {error["loc"][0] for error in caught.value.errors()}
    assert missing == {"mongodb_uri", "jwt_secret"}


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(mongodb_uri="mongodb://db/", jwt_secret=SecretStr("too-short"))


def test_secret_is_not_shown() -> None:
    assert "s" * 32 not in repr(Settings(**REQUIRED))
