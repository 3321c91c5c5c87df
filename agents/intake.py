"""Reading incoming records: a record that is not a valid event is set aside, never retried."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from records.events import MessageSubmitted, is_blank


@dataclass(frozen=True)
class Rejected:
    """An incoming record that cannot be processed, with the reason, bound for dead letters."""

    raw: bytes
    reason: str


@dataclass(frozen=True)
class Intake:
    accepted: list[MessageSubmitted]
    rejected: list[Rejected]


def read_submission(raw: bytes) -> MessageSubmitted:
    """Parse one incoming record; ``ValueError`` says why it is not a valid submission."""
    if not isinstance(raw, bytes | bytearray):
        raise ValueError(f"record value is {type(raw).__name__}, not bytes")
    try:
        submission = MessageSubmitted.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'record'}: {err['msg']}"
            for err in exc.errors(include_input=False)
        )
        raise ValueError(problems) from None
    if is_blank(submission.body):
        raise ValueError("body: is blank")
    return submission


def sort_batch(values: list[bytes]) -> Intake:
    """Split a batch into valid submissions (in order) and rejected records."""
    accepted: list[MessageSubmitted] = []
    rejected: list[Rejected] = []
    for raw in values:
        try:
            accepted.append(read_submission(raw))
        except ValueError as exc:
            kept = bytes(raw) if isinstance(raw, bytes | bytearray) else b""
            rejected.append(Rejected(raw=kept, reason=str(exc)))
    return Intake(accepted=accepted, rejected=rejected)
