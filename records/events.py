"""Event records: immutable facts, named in the past tense, carried as JSON on Kafka.

A record's ``type`` is its name on the wire, so a record is never renamed once it has
shipped; new fields get defaults so old events still read.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_BODY_CHARS = 4000
"""Longest message body accepted, in characters (not bytes)."""

GROUP_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CLIENT_MSG_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"

GroupId = Annotated[str, StringConstraints(pattern=GROUP_ID_PATTERN)]
ClientMsgId = Annotated[str, StringConstraints(pattern=CLIENT_MSG_ID_PATTERN)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY_CHARS)]

_BLANK = re.compile(r"^\s*$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def dedupe_key(group_id: str, sender_id: str, client_msg_id: str) -> str:
    """Identity of a submission: group, sender and the sender's own message id."""
    return f"{group_id}/{sender_id}/{client_msg_id}"


class Event(BaseModel):
    """Base of every event: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class MessageSubmitted(Event):
    """A member asked to post ``body`` to a group; not yet ordered or stored."""

    type: Literal["MessageSubmitted"] = "MessageSubmitted"
    event_id: str = Field(default_factory=new_id)
    group_id: GroupId
    sender_id: str = Field(min_length=1)
    sender: str = Field(min_length=1)
    client_msg_id: ClientMsgId
    body: Body
    submitted_at: datetime = Field(default_factory=utcnow)

    @property
    def dedupe_key(self) -> str:
        """Identity of the submission: a retry by the same sender stores nothing new.

        Scoped to the sender so one member can never shadow another's message by
        reusing a ``client_msg_id``.
        """
        return dedupe_key(self.group_id, self.sender_id, self.client_msg_id)


class MessageSaved(Event):
    """A message was stored at position ``seq`` of its group (1, 2, 3 … with no gaps)."""

    type: Literal["MessageSaved"] = "MessageSaved"
    message_id: str
    group_id: GroupId
    seq: int = Field(ge=1)
    sender_id: str
    sender: str
    client_msg_id: ClientMsgId
    body: str
    saved_at: datetime

    @property
    def dedupe_key(self) -> str:
        return dedupe_key(self.group_id, self.sender_id, self.client_msg_id)

    def to_client(self) -> dict[str, object]:
        """The ``message`` payload clients receive over Socket.IO."""
        payload = self.model_dump(mode="json", exclude={"type"})
        return payload


def is_blank(text: str) -> bool:
    return bool(_BLANK.match(text))
