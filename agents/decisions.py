"""Deciding requests against a group's state: pure functions, no I/O.

Each decision yields the facts to record (possibly none: asking twice for what is already so
is answered ``ok`` and changes nothing) or a refusal with a stable code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from records.events import (
    Fact,
    GroupCreated,
    MemberInvited,
    MemberJoined,
    MemberLeft,
    MemberRemoved,
    MessageDeleted,
    MessageEdited,
)
from records.requests import (
    AnyRequest,
    DeletionRequested,
    EditRequested,
    GroupCreationRequested,
    InvitationRequested,
    JoinRequested,
    LeaveRequested,
    RemovalRequested,
)


@dataclass
class GroupState:
    """What decisions need to know of a group, as its projection document holds it."""

    group_id: str
    exists: bool = False
    name: str = ""
    private: bool = False
    owner_id: str | None = None
    members: dict[str, str] = field(default_factory=dict)
    invited: dict[str, str] = field(default_factory=dict)
    last_change: int = 0

    @classmethod
    def from_document(cls, group_id: str, doc: dict[str, Any] | None) -> GroupState:
        if doc is None:
            return cls(group_id)
        return cls(
            group_id=group_id,
            exists=True,
            name=str(doc.get("name", "")),
            private=bool(doc["private"]),
            owner_id=doc["owner_id"],
            members={uid: m["username"] for uid, m in doc.get("members", {}).items()},
            invited={uid: i["username"] for uid, i in doc.get("invited", {}).items()},
            last_change=int(doc.get("last_change", 0)),
        )

    def apply(self, fact: Fact) -> None:
        """Keep the cached state in step with the facts just decided."""
        match fact:
            case GroupCreated():
                self.exists, self.private, self.owner_id = True, fact.private, fact.owner_id
                self.name = fact.name
                self.members[fact.owner_id] = fact.owner
            case MemberInvited():
                self.invited[fact.user_id] = fact.username
            case MemberJoined():
                self.members[fact.user_id] = fact.username
                self.invited.pop(fact.user_id, None)
            case MemberLeft() | MemberRemoved():
                self.members.pop(fact.user_id, None)
            case MessageEdited() | MessageDeleted():
                self.last_change = max(self.last_change, fact.change)


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


@dataclass(frozen=True)
class Decision:
    facts: list[Fact] = field(default_factory=list)
    refusal: Refusal | None = None


@dataclass(frozen=True)
class MessageView:
    """The current state of one stored message, for edit and delete decisions."""

    sender_id: str
    deleted: bool


def refuse(code: str, message: str) -> Decision:
    return Decision(refusal=Refusal(code, message))


def decide(state: GroupState, request: AnyRequest, message: MessageView | None = None) -> Decision:
    """Decide any request but a message submission (those are decided in bulk)."""
    if isinstance(request, GroupCreationRequested):
        return _create(state, request)
    if not state.exists:
        return refuse("group_not_found", f"there is no group {state.group_id!r}")
    match request:
        case JoinRequested():
            return _join(state, request)
        case InvitationRequested():
            return _invite(state, request)
        case LeaveRequested():
            return _leave(state, request)
        case RemovalRequested():
            return _remove(state, request)
        case EditRequested() | DeletionRequested():
            return _change_message(state, request, message)
    raise TypeError(f"cannot decide {type(request).__name__}")


def _create(state: GroupState, request: GroupCreationRequested) -> Decision:
    if state.exists:
        if state.owner_id == request.actor_id:
            return Decision()  # the same request again
        return refuse("group_exists", "a group with this id exists")
    return Decision(
        [
            GroupCreated(
                group_id=request.group_id,
                occurred_at=request.requested_at,
                name=request.name,
                private=request.private,
                owner_id=request.actor_id,
                owner=request.actor,
            )
        ]
    )


def _join(state: GroupState, request: JoinRequested) -> Decision:
    if request.actor_id in state.members:
        return Decision()
    if state.private and request.actor_id not in state.invited:
        return refuse("invitation_required", "this group is private: a member must invite you")
    return Decision(
        [
            MemberJoined(
                group_id=request.group_id,
                occurred_at=request.requested_at,
                user_id=request.actor_id,
                username=request.actor,
            )
        ]
    )


def _invite(state: GroupState, request: InvitationRequested) -> Decision:
    if request.actor_id not in state.members:
        return refuse("not_a_member", "only members can invite")
    if request.invitee_id in state.members or request.invitee_id in state.invited:
        return Decision()
    return Decision(
        [
            MemberInvited(
                group_id=request.group_id,
                occurred_at=request.requested_at,
                user_id=request.invitee_id,
                username=request.invitee,
                by_id=request.actor_id,
                by=request.actor,
                group_name=state.name,
            )
        ]
    )


def _leave(state: GroupState, request: LeaveRequested) -> Decision:
    if request.actor_id not in state.members:
        return Decision()
    return Decision(
        [
            MemberLeft(
                group_id=request.group_id,
                occurred_at=request.requested_at,
                user_id=request.actor_id,
                username=state.members[request.actor_id],
            )
        ]
    )


def _remove(state: GroupState, request: RemovalRequested) -> Decision:
    if request.actor_id != state.owner_id:
        return refuse("not_owner", "only the group's owner can remove members")
    if request.member_id == state.owner_id:
        return refuse("cannot_remove_owner", "the owner cannot be removed; leave instead")
    if request.member_id not in state.members:
        return Decision()
    return Decision(
        [
            MemberRemoved(
                group_id=request.group_id,
                occurred_at=request.requested_at,
                user_id=request.member_id,
                username=state.members[request.member_id],
                by_id=request.actor_id,
            )
        ]
    )


def _change_message(
    state: GroupState, request: EditRequested | DeletionRequested, message: MessageView | None
) -> Decision:
    if request.actor_id not in state.members:
        return refuse("not_a_member", "only members can change messages")
    if message is None:
        return refuse("message_not_found", f"there is no message {request.message_id!r}")
    if message.sender_id != request.actor_id:
        return refuse("not_author", "only the author can change a message")
    seq = int(request.message_id.rpartition(":")[2])
    if isinstance(request, DeletionRequested):
        if message.deleted:
            return Decision()
        return Decision(
            [
                MessageDeleted(
                    group_id=request.group_id,
                    occurred_at=request.requested_at,
                    message_id=request.message_id,
                    seq=seq,
                    by_id=request.actor_id,
                    change=state.last_change + 1,
                )
            ]
        )
    if message.deleted:
        return refuse("message_deleted", "a deleted message cannot be edited")
    return Decision(
        [
            MessageEdited(
                group_id=request.group_id,
                occurred_at=request.requested_at,
                message_id=request.message_id,
                seq=seq,
                body=request.body,
                by_id=request.actor_id,
                change=state.last_change + 1,
            )
        ]
    )
