"""What every record on Kafka shares: the frozen base model, the id and text types, the clock.

Requests (``records.requests``) and facts (``records.facts``) both stand on ``Record``, but
are told apart by type: a handler of one cannot be given the other.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import emoji as emoji_data
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
)

from records.text import is_invisible, text_problem

MAX_BODY_CHARS = 4000
"""Longest message body accepted, in characters (not bytes)."""
MAX_GROUP_NAME_CHARS = 80

GROUP_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CLIENT_MSG_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
MESSAGE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}:[1-9][0-9]{0,15}$"
USER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

GroupId = Annotated[str, StringConstraints(pattern=GROUP_ID_PATTERN)]
ClientMsgId = Annotated[str, StringConstraints(pattern=CLIENT_MSG_ID_PATTERN)]
MessageId = Annotated[str, StringConstraints(pattern=MESSAGE_ID_PATTERN)]
UserId = Annotated[str, StringConstraints(pattern=USER_ID_PATTERN)]
"""User ids become keys of embedded documents (members by id), so no dots and no ``$``."""
Body = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY_CHARS)]

MAX_EMOJI_CHARS = 32
"""Longest emoji accepted, in code points: the longest fully-qualified ZWJ sequences (a
family, a couple with skin tones) are about a dozen."""


def _one_emoji(text: str) -> str:
    """One emoji, as Unicode's emoji data lists it (with skin tones and ZWJ sequences): the
    ``emoji`` package's tables, not a pattern of code point ranges kept here."""
    if len(text) > MAX_EMOJI_CHARS or not emoji_data.is_emoji(text):
        raise ValueError("must be one emoji")
    return text


Emoji = Annotated[str, AfterValidator(_one_emoji)]
"""A reaction: exactly one emoji (one extended grapheme cluster that Unicode calls an emoji)."""


def _visible_text(text: str) -> str:
    if (problem := text_problem(text)) is not None:
        raise ValueError(problem)
    if is_invisible(text):
        raise ValueError("has nothing visible in it")
    return text


GroupName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_GROUP_NAME_CHARS)
]
NewGroupName = Annotated[GroupName, AfterValidator(_visible_text)]
"""A name asked for: stricter than ``GroupName``, which facts already in the log must pass."""


def utcnow() -> datetime:
    """Now, cut to BSON's millisecond precision, so a stored and re-read time is equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id() -> str:
    return uuid.uuid4().hex


def is_blank(text: str) -> bool:
    """Nothing would show: whitespace, zero-width and other invisible characters only."""
    return is_invisible(text)


def describe_errors(exc: ValidationError, whole: str) -> str:
    """pydantic's errors in one line, ``field: problem; …`` (``whole`` names the root)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or whole}: {err['msg']}"
        for err in exc.errors(include_input=False, include_url=False)
    )


def dedupe_key(group_id: str, sender_id: str, client_msg_id: str) -> str:
    """Identity of a submission: group, sender and the sender's own message id."""
    return f"{group_id}/{sender_id}/{client_msg_id}"


def message_id(group_id: str, seq: int) -> str:
    """A message's public id names its group and position, so a command about a message
    (edit, delete) can be routed to its group's partition without a lookup."""
    return f"{group_id}:{seq}"


def split_message_id(value: str) -> tuple[str, int]:
    group_id, _, seq = value.rpartition(":")
    return group_id, int(seq)


class Record(BaseModel):
    """Base of every record on Kafka: frozen. A record's ``type`` is its name on the wire, so
    it never changes once shipped; new fields get defaults.

    A field a reader does not know is ignored, not refused: in a rolling deploy, workers
    already upgraded write facts with a field that gateway nodes and projectors still on the
    last version have never heard of. Refused, those facts were skipped as unreadable (a
    fault run saw it: messages missing from every view and socket for good); ignored, the
    old reader handles them as it always has until it is upgraded too."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()
