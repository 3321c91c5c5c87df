"""Commands clients send over Socket.IO, validated strictly, and the replies they get."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from records.events import MAX_BODY_CHARS, ClientMsgId, GroupId, is_blank


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


C = TypeVar("C", bound=Command)


class Join(Command):
    group_id: GroupId


class Send(Command):
    group_id: GroupId
    client_msg_id: ClientMsgId
    body: str


class CommandError(Exception):
    """A command refused with a stable ``code`` and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def reply(self, **extra: Any) -> dict[str, Any]:
        return {"ok": False, "error": {"code": self.code, "message": self.message}, **extra}


def parse(model: type[C], data: Any) -> C:
    """Validate a command payload, turning pydantic's errors into one ``invalid_payload``."""
    if not isinstance(data, dict):
        raise CommandError("invalid_payload", "the payload must be an object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        )
        raise CommandError("invalid_payload", problems) from None


def check_body(body: str) -> None:
    if is_blank(body):
        raise CommandError("body_empty", "the message body is empty")
    if len(body) > MAX_BODY_CHARS:
        raise CommandError(
            "body_too_long",
            f"the message body has {len(body)} characters; at most {MAX_BODY_CHARS}",
        )
