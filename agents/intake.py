"""Reading incoming records: a record that is not a valid request is set aside, never retried."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from records.base import describe_errors, is_blank
from records.requests import AnyRequest, EditMessage, SendMessage, read_request
from records.text import text_problem


@dataclass(frozen=True)
class Rejected:
    """An incoming record that cannot be processed, with the reason, bound for dead letters."""

    raw: bytes
    reason: str


@dataclass(frozen=True)
class Intake:
    accepted: list[AnyRequest]
    rejected: list[Rejected]


def read_incoming(raw: bytes) -> AnyRequest:
    """Parse one incoming record; ``ValueError`` says why it is not a valid request."""
    if not isinstance(raw, bytes | bytearray):
        raise ValueError(f"record value is {type(raw).__name__}, not bytes")
    try:
        request = read_request(raw)
    except ValidationError as exc:
        problems = describe_errors(exc, "record")
        raise ValueError(problems) from None
    if isinstance(request, SendMessage | EditMessage):
        if is_blank(request.body):
            raise ValueError("body: is blank")
        if (problem := text_problem(request.body)) is not None:
            raise ValueError(f"body: {problem}")
    return request


def split_batch(values: list[bytes]) -> Intake:
    """Split a batch into valid requests (in order) and rejected records."""
    accepted: list[AnyRequest] = []
    rejected: list[Rejected] = []
    for raw in values:
        try:
            accepted.append(read_incoming(raw))
        except ValueError as exc:
            kept = bytes(raw) if isinstance(raw, bytes | bytearray) else b""
            rejected.append(Rejected(raw=kept, reason=str(exc)))
    return Intake(accepted=accepted, rejected=rejected)
