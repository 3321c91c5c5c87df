"""What members ask of a group, on the incoming topic keyed by group.

These are events too (a member *submitted* a message, *requested* a join), but not yet facts:
the agent that owns the group's partition decides each one against the group's state, turns
it into facts, and answers the requesting gateway node on the replies topic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from records.events import (
    Body,
    ClientMsgId,
    Event,
    GroupId,
    MessageId,
    NewGroupName,
    UserId,
    dedupe_key,
    new_id,
    utcnow,
)


class Request(Event):
    """Who asks, about which group, and where the answer goes (gateway node and socket)."""

    event_id: str = Field(default_factory=new_id)
    group_id: GroupId
    actor_id: UserId
    actor: str = Field(min_length=1)
    requested_at: datetime = Field(default_factory=utcnow)
    origin: str | None = None
    origin_sid: str | None = None


class MessageSubmitted(Request):
    """A member asked to post ``body``; not yet ordered or stored."""

    type: Literal["MessageSubmitted"] = "MessageSubmitted"
    client_msg_id: ClientMsgId
    body: Body

    @property
    def dedupe_key(self) -> str:
        """Scoped to the sender: one member can never shadow another's message id."""
        return dedupe_key(self.group_id, self.actor_id, self.client_msg_id)


class GroupCreationRequested(Request):
    type: Literal["GroupCreationRequested"] = "GroupCreationRequested"
    name: NewGroupName
    private: bool


class JoinRequested(Request):
    type: Literal["JoinRequested"] = "JoinRequested"


class InvitationRequested(Request):
    type: Literal["InvitationRequested"] = "InvitationRequested"
    invitee_id: UserId
    invitee: str = Field(min_length=1)


class DeclineRequested(Request):
    """The invited person turns an invitation down."""

    type: Literal["DeclineRequested"] = "DeclineRequested"


class RevocationRequested(Request):
    """A member takes back the invitation of ``invitee_id``."""

    type: Literal["RevocationRequested"] = "RevocationRequested"
    invitee_id: UserId


class LeaveRequested(Request):
    type: Literal["LeaveRequested"] = "LeaveRequested"


class RemovalRequested(Request):
    type: Literal["RemovalRequested"] = "RemovalRequested"
    member_id: UserId


class ReadMarkRequested(Request):
    """A member has read up to ``seq`` (coalesced by the gateway: at most one a second)."""

    type: Literal["ReadMarkRequested"] = "ReadMarkRequested"
    seq: int = Field(ge=0)


class EditRequested(Request):
    type: Literal["EditRequested"] = "EditRequested"
    message_id: MessageId
    body: Body


class DeletionRequested(Request):
    type: Literal["DeletionRequested"] = "DeletionRequested"
    message_id: MessageId


AnyRequest = (
    MessageSubmitted
    | GroupCreationRequested
    | JoinRequested
    | InvitationRequested
    | DeclineRequested
    | RevocationRequested
    | LeaveRequested
    | RemovalRequested
    | EditRequested
    | DeletionRequested
    | ReadMarkRequested
)
_REQUEST = TypeAdapter[AnyRequest](Annotated[AnyRequest, Field(discriminator="type")])


def read_request(raw: bytes | str) -> AnyRequest:
    """Parse one incoming record (``pydantic.ValidationError`` if it is not a request)."""
    return _REQUEST.validate_json(raw)


class RequestAnswered(Event):
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
