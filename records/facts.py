"""Facts of a group's life: immutable, named in the past tense, carried as JSON on Kafka.

The group-events topic holds these and only these, keyed by group; it is the source of truth,
and every MongoDB collection is a projection of it. Every fact is a ``GroupFact``: its group
(the Kafka key) and when it happened; a fact about membership also carries the group's
membership ``version``. ``Fact`` is the closed union of them all: every ``match`` over it ends
in ``assert_never``, so the type checker names each place a new fact must be handled
(``docs/adding-an-event.md``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from records.base import ClientMsgId, GroupId, GroupName, Record, utcnow


class GroupFact(Record):
    """A fact about one group; ``group_id`` is its Kafka key."""

    group_id: GroupId


class DatedFact(GroupFact):
    """A fact stamped with when it happened (a saved message has its own ``saved_at``)."""

    occurred_at: datetime = Field(default_factory=utcnow)


class MembershipFact(DatedFact):
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
    peer_id: str | None = None
    """Back in a direct conversation: the other person (whose message brought them back,
    or whom they reopened it with), so their sockets are told where it is from."""
    peer: str | None = None


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


class DirectOpened(MembershipFact):
    """Two people's direct conversation began: a private group of exactly the two of them
    (``records.direct``), both members from the start, no owner."""

    type: Literal["DirectOpened"] = "DirectOpened"
    user_id: str
    """Who opened it."""
    username: str
    peer_id: str
    peer: str


class UserBlocked(DatedFact):
    """``by_id`` blocked ``user_id``: recorded in their direct conversation's group (which
    need not have begun), so the decider of that group refuses the blocked person there."""

    type: Literal["UserBlocked"] = "UserBlocked"
    by_id: str
    by: str
    user_id: str
    username: str


class UserUnblocked(DatedFact):
    type: Literal["UserUnblocked"] = "UserUnblocked"
    by_id: str
    by: str
    user_id: str
    username: str


class ReplyTo(Record):
    """The message a message answers, in the same group. No words of it: a quote is read
    from the original as it is now (``records.views.quote``), so an edit shows in it and a
    delete erases it, in the views, live and in a replay alike."""

    message_id: str
    seq: int = Field(ge=1)
    sender_id: str


class MessageSaved(GroupFact):
    """A message was stored at position ``seq`` of its group (1, 2, 3 … with no gaps)."""

    type: Literal["MessageSaved"] = "MessageSaved"
    message_id: str
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
    reply_to: ReplyTo | None = None
    requested_at: datetime | None = None
    """When a gateway took the send (its request's ``requested_at``): a reader of the log
    knows from it how long messages take to arrive (``gateway.admission``)."""


class MessageEdited(DatedFact):
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


class MessageDeleted(DatedFact):
    type: Literal["MessageDeleted"] = "MessageDeleted"
    message_id: str
    seq: int = Field(ge=1)
    by_id: str
    change: int = Field(default=0, ge=0)
    key_no: int | None = None
    """The number of the last of the tombstones it wrote for the message's keys (one for
    each body: ``records.sealing``)."""


class ReactionToggled(DatedFact):
    """A member added (``reacted``) or took back their ``emoji`` on a message; ``count`` is
    how many people now have that emoji on it. Numbered with edits and deletes (``change``),
    so a client that was away gets the reactions it missed with them."""

    type: Literal["ReactionToggled"] = "ReactionToggled"
    message_id: str
    seq: int = Field(ge=1)
    emoji: str
    user_id: str
    username: str
    reacted: bool
    count: int = Field(ge=0)
    change: int = Field(default=0, ge=0)


class ReadMarked(DatedFact):
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
    | DirectOpened
    | UserBlocked
    | UserUnblocked
    | ReactionToggled
)
_FACT = TypeAdapter[Fact](Annotated[Fact, Field(discriminator="type")])


def read_fact(raw: bytes | str) -> Fact:
    """Parse one record of the group-events topic (``pydantic.ValidationError`` if invalid)."""
    return _FACT.validate_json(raw)
