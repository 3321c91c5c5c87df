"""Facts of a group's life: immutable, named in the past tense, carried as JSON on Kafka.

The group-events topic holds these and only these, keyed by group; it is the source of truth,
and every MongoDB collection is a projection of it. A record's ``type`` is its name on the
wire, so a record is never renamed once it has shipped; new fields get defaults.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
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


class Event(BaseModel):
    """Base of every record on Kafka: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class GroupFact(Event):
    """A fact about one group; ``group_id`` is its Kafka key."""

    group_id: GroupId
    occurred_at: datetime = Field(default_factory=utcnow)


class MembershipFact(GroupFact):
    """A change to who is in a group; ``version`` numbers them per group (1, 2, 3 …), so a
    reader that missed one notices the gap."""

    version: int = Field(default=0, ge=0)


class GroupCreated(MembershipFact):
    type: Literal["GroupCreated"] = "GroupCreated"
    name: GroupName
    private: bool
    owner_id: str
    owner: str


class MemberInvited(MembershipFact):
    type: Literal["MemberInvited"] = "MemberInvited"
    user_id: str
    username: str
    by_id: str
    by: str = ""
    group_name: str = ""


class MemberJoined(MembershipFact):
    type: Literal["MemberJoined"] = "MemberJoined"
    user_id: str
    username: str
    read_seq: int = Field(default=0, ge=0)
    """The group's last ``seq`` when they joined: a newcomer has nothing unread."""


class MemberLeft(MembershipFact):
    type: Literal["MemberLeft"] = "MemberLeft"
    user_id: str
    username: str


class MemberRemoved(MembershipFact):
    type: Literal["MemberRemoved"] = "MemberRemoved"
    user_id: str
    username: str
    by_id: str


class InvitationDeclined(MembershipFact):
    """The invited person said no: the invitation is gone."""

    type: Literal["InvitationDeclined"] = "InvitationDeclined"
    user_id: str
    username: str


class InvitationRevoked(MembershipFact):
    """The inviter or the owner took an invitation back before it was used."""

    type: Literal["InvitationRevoked"] = "InvitationRevoked"
    user_id: str
    username: str
    by_id: str


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
    mentions: list[str] = Field(default_factory=list)
    """Members named in the body as ``@username``, by user id (never the sender)."""
    sealed: str | None = None
    """The body, sealed (``records.sealing``): then ``body`` is empty in the log, and a
    reader opens it with the key numbered ``key_no``."""
    key_no: int | None = None
    erased: bool = Field(default=False, exclude=True)
    """Set by a reader, never in the log: the body's key is gone (the message was deleted)."""

    @property
    def dedupe_key(self) -> str:
        return dedupe_key(self.group_id, self.sender_id, self.client_msg_id)


class MessageEdited(GroupFact):
    type: Literal["MessageEdited"] = "MessageEdited"
    message_id: str
    seq: int = Field(ge=1)
    body: str
    by_id: str
    mentions: list[str] = Field(default_factory=list)
    """The members the new body names (an edit can add or drop a mention)."""
    change: int = Field(default=0, ge=0)
    """Position among the group's edits and deletes (1, 2, 3 …), so a client that was away
    can ask for every change after the last it saw."""
    sealed: str | None = None
    """The body, sealed (``records.sealing``): then ``body`` is empty in the log, and a
    reader opens it with the key numbered ``key_no``."""
    key_no: int | None = None
    erased: bool = Field(default=False, exclude=True)
    """Set by a reader, never in the log: the body's key is gone (the message was deleted)."""


class MessageDeleted(GroupFact):
    type: Literal["MessageDeleted"] = "MessageDeleted"
    message_id: str
    seq: int = Field(ge=1)
    by_id: str
    change: int = Field(default=0, ge=0)
    key_no: int | None = None
    """The number of the last of the tombstones it wrote for the message's keys (one for
    each body: ``records.sealing``)."""


class ReadMarked(GroupFact):
    """A member has read the group up to ``seq``: markers only move forward."""

    type: Literal["ReadMarked"] = "ReadMarked"
    user_id: str
    username: str
    seq: int = Field(ge=0)


Fact = (
    GroupCreated
    | MemberInvited
    | MemberJoined
    | MemberLeft
    | MemberRemoved
    | InvitationDeclined
    | InvitationRevoked
    | MessageSaved
    | MessageEdited
    | MessageDeleted
    | ReadMarked
)
_FACT = TypeAdapter[Fact](Annotated[Fact, Field(discriminator="type")])


def read_fact(raw: bytes | str) -> Fact:
    """Parse one record of the group-events topic (``pydantic.ValidationError`` if invalid)."""
    return _FACT.validate_json(raw)
