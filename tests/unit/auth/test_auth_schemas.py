"""Request validation: field rules, unknown fields, wrong types, and the per-field messages."""

from __future__ import annotations

from typing import Any

import pytest

from auth.schemas import (
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    RequestInvalid,
    parse_request,
)


def _fields(model: type[Any], data: Any) -> dict[str, list[str]]:
    with pytest.raises(RequestInvalid) as caught:
        parse_request(model, data)
    return caught.value.fields


@pytest.mark.parametrize("username", ["abc", "A" * 32, "a.b-c_d", "Alice.99"])
def test_register_accepts_valid_usernames(username: str) -> None:
    request = parse_request(RegisterRequest, {"username": username, "password": "x" * 8})
    assert request.username == username


@pytest.mark.parametrize(
    "username", ["ab", "a" * 33, "has space", "semi;colon", "émile", "a/b", "abc\n", ""]
)
def test_register_refuses_bad_usernames(username: str) -> None:
    fields = _fields(RegisterRequest, {"username": username, "password": "x" * 8})
    assert list(fields) == ["username"]
    assert fields["username"]


@pytest.mark.parametrize("password", ["x" * 8, "x" * 128, "pässwörd", "        "])
def test_register_accepts_valid_passwords(password: str) -> None:
    assert parse_request(RegisterRequest, {"username": "alice", "password": password})


@pytest.mark.parametrize("password", ["x" * 7, "x" * 129, ""])
def test_register_refuses_bad_password_lengths(password: str) -> None:
    fields = _fields(RegisterRequest, {"username": "alice", "password": password})
    assert list(fields) == ["password"]


def test_pattern_message_is_readable() -> None:
    fields = _fields(RegisterRequest, {"username": "no spaces", "password": "x" * 8})
    assert fields["username"] == ["may contain only letters, digits, '_', '.' and '-'"]


def test_every_bad_field_is_reported_at_once() -> None:
    fields = _fields(RegisterRequest, {"username": "a", "password": "short", "admin": True})
    assert set(fields) == {"username", "password", "admin"}
    assert fields["admin"] == ["unknown field"]


def test_missing_fields_are_reported() -> None:
    fields = _fields(RegisterRequest, {})
    assert fields == {"username": ["field required"], "password": ["field required"]}


@pytest.mark.parametrize("value", [12345678, None, ["alice"], {"a": 1}, True])
def test_non_strings_are_refused_not_coerced(value: Any) -> None:
    fields = _fields(RegisterRequest, {"username": value, "password": value})
    assert set(fields) == {"username", "password"}


def test_login_does_not_apply_the_username_pattern() -> None:
    # An odd username at login is a wrong login (401), not a validation error.
    request = parse_request(LoginRequest, {"username": "no such user", "password": "x"})
    assert request.username == "no such user"


def test_login_refuses_unknown_fields_and_empty_values() -> None:
    fields = _fields(LoginRequest, {"username": "", "password": "", "remember": True})
    assert set(fields) == {"username", "password", "remember"}


def test_refresh_requires_a_token() -> None:
    assert _fields(RefreshRequest, {}) == {"refresh_token": ["field required"]}
    assert "refresh_token" in _fields(RefreshRequest, {"refresh_token": ""})
    assert "refresh_token" in _fields(RefreshRequest, {"refresh_token": 1})
