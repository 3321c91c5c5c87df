"""What members ask of a group, on the requests topic keyed by group.

A request says what someone asks (``SendMessage``, ``MarkRead``), never what happened: the
agent that owns the group's partition decides each one against the group's state, turns it
into facts (``records.facts``), and answers the requesting gateway node on the replies topic.
Class names are imperative; each ``type`` on the wire is the name the request first shipped
under (``SendMessage`` for ``SendMessage``), and, like every wire name, never changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from records.base import (
    Body,
    ClientMsgId,
    Emoji,
    GroupId,
    MessageId,
    NewGroupName,
    Record,
    UserId,
    dedupe_key,
    new_id,
    utcnow,
)


class Request(Record):
    """Who asks, about which group, and where the answer goes (gateway node and socket)."""

    event_id: str = Field(default_factory=new_id)
    group_id: GroupId
    actor_id: UserId
    actor: str = Field(min_length=1)
    requested_at: datetime = Field(default_factory=utcnow)
    origin: str | None = None
    origin_sid: str | None = None


class SendMessage(Request):
    """A member asked to post ``body``; not yet ordered or stored."""

    type: Literal["MessageSubmitted"] = "MessageSubmitted"
    client_msg_id: ClientMsgId
    body: Body
    reply_to: MessageId | None = None
    """The message this one answers (in the same group)."""

    @property
    def dedupe_key(self) -> str:
        """Scoped to the sender: one member can never shadow another's message id."""
        return dedupe_key(self.group_id, self.actor_id, self.client_msg_id)


class CreateGroup(Request):
    type: Literal["GroupCreationRequested"] = "GroupCreationRequested"
    name: NewGroupName
    private: bool


class JoinGroup(Request):
    type: Literal["JoinRequested"] = "JoinRequested"


class InviteMember(Request):
    type: Literal["InvitationRequested"] = "InvitationRequested"
    invitee_id: UserId
    invitee: str = Field(min_length=1)


class DeclineInvitation(Request):
    """The invited person turns an invitation down."""

    type: Literal["DeclineRequested"] = "DeclineRequested"


class RevokeInvitation(Request):
    """A member takes back the invitation of ``invitee_id``."""

    type: Literal["RevocationRequested"] = "RevocationRequested"
    invitee_id: UserId


class LeaveGroup(Request):
    type: Literal["LeaveRequested"] = "LeaveRequested"


class RemoveMember(Request):
    type: Literal["RemovalRequested"] = "RemovalRequested"
    member_id: UserId


class MarkRead(Request):
    """A member has read up to ``seq`` (coalesced by the gateway: at most one a second)."""

    type: Literal["ReadMarkRequested"] = "ReadMarkRequested"
    seq: int = Field(ge=0)


class EditMessage(Request):
    type: Literal["EditRequested"] = "EditRequested"
    message_id: MessageId
    body: Body


class DeleteMessage(Request):
    type: Literal["DeletionRequested"] = "DeletionRequested"
    message_id: MessageId


class OpenDirect(Request):
    """Open (or reopen) the direct conversation with ``peer_id``; ``group_id`` is theirs
    (``records.direct.direct_group_id``)."""

    type: Literal["DirectOpenRequested"] = "DirectOpenRequested"
    peer_id: UserId
    peer: str = Field(min_length=1)


class BlockUser(Request):
    """The actor blocks ``user_id``; ``group_id`` is their direct conversation's."""

    type: Literal["BlockRequested"] = "BlockRequested"
    user_id: UserId
    username: str = Field(min_length=1)


class UnblockUser(Request):
    type: Literal["UnblockRequested"] = "UnblockRequested"
    user_id: UserId
    username: str = Field(min_length=1)


class ToggleReaction(Request):
    """Add the actor's ``emoji`` to a message, or take it back if it is there; or, with
    ``reacted`` given, make it so (a retry after a lost answer then changes nothing more)."""

    type: Literal["ReactionRequested"] = "ReactionRequested"
    message_id: MessageId
    emoji: Emoji
    reacted: bool | None = None
    """What the actor wants: True to have the reaction, False not to; None toggles."""


AnyRequest = (
    SendMessage
    | CreateGroup
    | JoinGroup
    | InviteMember
    | DeclineInvitation
    | RevokeInvitation
    | LeaveGroup
    | RemoveMember
    | EditMessage
    | DeleteMessage
    | MarkRead
    | OpenDirect
    | BlockUser
    | UnblockUser
    | ToggleReaction
)
"""Every request, a closed union: each ``match`` over it ends in ``assert_never``."""
_REQUEST = TypeAdapter[AnyRequest](Annotated[AnyRequest, Field(discriminator="type")])


def read_request(raw: bytes | str) -> AnyRequest:
    """One record of the requests topic (``pydantic.ValidationError`` if not a request)."""
    return _REQUEST.validate_json(raw)


class RequestAnswered(Record):
    """The outcome of a request, for the gateway node that holds the waiting client."""

    type: Literal["RequestAnswered"] = "RequestAnswered"
    request_id: str
    request_type: str
    group_id: str
    origin: str
    origin_sid: str | None = None
    ok: bool
    code: str | None = None
    message: str | None = None
    client_msg_id: str | None = None
    version: int | None = None
    """The group's membership version once the request was decided, so the asking node can
    wait for its view to reach it before it reads (read-your-writes)."""
    seq: int | None = None
    """For a message: the position it was saved at."""
    reacted: bool | None = None
    """For a reaction: True when it was added, False when it was taken back."""
    last_seq: int | None = None
    last_change: int | None = None
    """The group's last message and last change once the request was decided: the most a
    client can have seen of it, whatever the views show yet (a join's catch-up trusts a
    client's cursor up to these)."""
