"""Request bodies, validated with pydantic; a failure lists the problems per field."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from records.text import has_lone_surrogate

USERNAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
USERNAME_MIN, USERNAME_MAX = 3, 32
PASSWORD_MIN, PASSWORD_MAX = 8, 128

Username = Annotated[
    str,
    StringConstraints(min_length=USERNAME_MIN, max_length=USERNAME_MAX, pattern=USERNAME_PATTERN),
]


def _unicode_text(text: str) -> str:
    """A lone surrogate (JSON allows ``"\\ud800"``) is not text: it cannot be hashed."""
    if has_lone_surrogate(text):
        raise ValueError("contains a lone surrogate (not valid Unicode text)")
    return text


Password = Annotated[
    str,
    StringConstraints(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX),
    AfterValidator(_unicode_text),
]

_FRIENDLY = {
    "string_pattern_mismatch": "may contain only letters, digits, '_', '.' and '-'",
    "extra_forbidden": "unknown field",
    "missing": "field required",
}


class _Request(BaseModel):
    # strict: a number is not a username; forbid: a typo in a field name is an error.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RegisterRequest(_Request):
    username: Username
    password: Password


class LoginRequest(_Request):
    # No pattern here: a login with an odd username is just a wrong login.
    username: Annotated[str, StringConstraints(min_length=1, max_length=USERNAME_MAX)]
    password: Annotated[
        str, StringConstraints(min_length=1, max_length=PASSWORD_MAX), AfterValidator(_unicode_text)
    ]


class RefreshRequest(_Request):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class RequestInvalid(Exception):
    """The body is JSON but not an acceptable request; ``fields`` says what is wrong where."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("the request is not valid")
        self.fields = fields


RequestT = TypeVar("RequestT", bound=_Request)


def parse_request(model: type[RequestT], data: Any) -> RequestT:
    """Validate ``data`` as ``model``, or raise ``RequestInvalid`` with per-field messages."""
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        fields: dict[str, list[str]] = {}
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "body"
            fields.setdefault(name, []).append(_FRIENDLY.get(error["type"], error["msg"]))
        raise RequestInvalid(fields) from exc
