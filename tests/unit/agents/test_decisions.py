from __future__ import annotations

from typing import Any

import pytest

from agents.decisions import GroupState, MessageView, decide
from records.events import (
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

ANN: dict[str, Any] = {"actor_id": "ann", "actor": "Ann"}
BOB: dict[str, Any] = {"actor_id": "bob", "actor": "Bob"}


def group(private: bool = False, members: dict[str, str] | None = None) -> GroupState:
    return GroupState(
        "g",
        exists=True,
        private=private,
        owner_id="ann",
        members=members if members is not None else {"ann": "Ann"},
    )


def refusal(state: GroupState, request: AnyRequest, view: MessageView | None = None) -> str:
    decision = decide(state, request, view)
    assert decision.refusal is not None and not decision.facts
    return decision.refusal.code


def test_creating_a_group_makes_the_creator_its_owner() -> None:
    state = GroupState("g")
    decision = decide(state, GroupCreationRequested(group_id="g", name="x", private=True, **ANN))
    (created,) = decision.facts
    assert isinstance(created, GroupCreated)
    assert (created.owner_id, created.private) == ("ann", True)
    state.apply(created)
    assert state.exists and state.members == {"ann": "Ann"}
    again = GroupCreationRequested(group_id="g", name="x", private=True, **ANN)
    assert decide(state, again).facts == [] and decide(state, again).refusal is None
    assert refusal(state, GroupCreationRequested(group_id="g", name="y", private=False, **BOB)) == (
        "group_exists"
    )


def test_nothing_but_creation_happens_to_a_missing_group() -> None:
    assert refusal(GroupState("g"), JoinRequested(group_id="g", **BOB)) == "group_not_found"


def test_joining_a_public_group_and_joining_twice() -> None:
    state = group()
    (joined,) = decide(state, JoinRequested(group_id="g", **BOB)).facts
    assert isinstance(joined, MemberJoined) and joined.user_id == "bob"
    state.apply(joined)
    assert decide(state, JoinRequested(group_id="g", **BOB)).facts == []


def test_a_private_group_takes_invited_users_only() -> None:
    state = group(private=True)
    assert refusal(state, JoinRequested(group_id="g", **BOB)) == "invitation_required"
    outsider = InvitationRequested(group_id="g", invitee_id="cat", invitee="Cat", **BOB)
    assert refusal(state, outsider) == "not_a_member"
    invite = InvitationRequested(group_id="g", invitee_id="bob", invitee="Bob", **ANN)
    (invited,) = decide(state, invite).facts
    assert isinstance(invited, MemberInvited)
    state.apply(invited)
    assert decide(state, invite).facts == []
    (joined,) = decide(state, JoinRequested(group_id="g", **BOB)).facts
    state.apply(joined)
    assert "bob" in state.members and "bob" not in state.invited


def test_leaving_and_removal() -> None:
    state = group(members={"ann": "Ann", "bob": "Bob"})
    assert refusal(state, RemovalRequested(group_id="g", member_id="ann", **BOB)) == "not_owner"
    owner_self = RemovalRequested(group_id="g", member_id="ann", **ANN)
    assert refusal(state, owner_self) == "cannot_remove_owner"
    (removed,) = decide(state, RemovalRequested(group_id="g", member_id="bob", **ANN)).facts
    assert isinstance(removed, MemberRemoved) and removed.username == "Bob"
    state.apply(removed)
    assert decide(state, RemovalRequested(group_id="g", member_id="bob", **ANN)).facts == []
    (left,) = decide(state, LeaveRequested(group_id="g", **ANN)).facts
    assert isinstance(left, MemberLeft)


@pytest.mark.parametrize(
    ("view", "actor", "code"),
    [
        (None, ANN, "message_not_found"),
        (MessageView(sender_id="bob", deleted=False), ANN, "not_author"),
        (MessageView(sender_id="ann", deleted=True), ANN, "message_deleted"),
        (
            MessageView(sender_id="ann", deleted=False),
            {"actor_id": "eve", "actor": "Eve"},
            "not_a_member",
        ),
    ],
)
def test_edits_are_refused(view: MessageView | None, actor: dict[str, Any], code: str) -> None:
    edit = EditRequested(group_id="g", message_id="g:3", body="new", **actor)
    assert refusal(group(members={"ann": "Ann", "bob": "Bob"}), edit, view) == code


def test_the_author_edits_and_deletes_once() -> None:
    state, mine = group(), MessageView(sender_id="ann", deleted=False)
    (edited,) = decide(
        state, EditRequested(group_id="g", message_id="g:3", body="new", **ANN), mine
    ).facts
    assert isinstance(edited, MessageEdited) and (edited.seq, edited.body) == (3, "new")
    delete = DeletionRequested(group_id="g", message_id="g:3", **ANN)
    (deleted,) = decide(state, delete, mine).facts
    assert isinstance(deleted, MessageDeleted) and deleted.seq == 3
    assert decide(state, delete, MessageView(sender_id="ann", deleted=True)).facts == []
