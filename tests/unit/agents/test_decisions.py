from __future__ import annotations

from typing import Any

import pytest

from agents.decisions import Decision
from agents.decisions import decide as decide_at
from agents.state import GroupState
from records.base import utcnow
from records.facts import (
    GroupCreated,
    MemberInvited,
    MemberJoined,
    MemberLeft,
    MemberRemoved,
    MessageDeleted,
    MessageEdited,
    MessageSaved,
)
from records.requests import (
    AnyRequest,
    CreateGroup,
    DeleteMessage,
    EditMessage,
    InviteMember,
    JoinGroup,
    LeaveGroup,
    RemoveMember,
    SendMessage,
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


def decide(state: GroupState, request: AnyRequest) -> Decision:
    return decide_at(state, request, utcnow())


def refusal(state: GroupState, request: AnyRequest) -> str:
    decision = decide(state, request)
    assert decision.refusal is not None and not decision.facts
    return decision.refusal.code


def send(state: GroupState, who: dict[str, Any], client_msg_id: str) -> Decision:
    """Decide a submission and fold what it produced, as the decider does."""
    request = SendMessage(group_id="g", client_msg_id=client_msg_id, body="hi", **who)
    decision = decide(state, request)
    for fact in decision.facts:
        state.apply(fact)
    return decision


def test_creating_a_group_makes_the_creator_its_owner() -> None:
    state = GroupState("g")
    decision = decide(state, CreateGroup(group_id="g", name="x", private=True, **ANN))
    (created,) = decision.facts
    assert isinstance(created, GroupCreated)
    assert (created.owner_id, created.private) == ("ann", True)
    state.apply(created)
    assert state.exists and state.members == {"ann": "Ann"}
    again = CreateGroup(group_id="g", name="x", private=True, **ANN)
    assert decide(state, again).facts == [] and decide(state, again).refusal is None
    assert refusal(state, CreateGroup(group_id="g", name="y", private=False, **BOB)) == (
        "group_exists"
    )


def test_nothing_but_creation_happens_to_a_missing_group() -> None:
    assert refusal(GroupState("g"), JoinGroup(group_id="g", **BOB)) == "group_not_found"


def test_joining_a_public_group_and_joining_twice() -> None:
    state = group()
    (joined,) = decide(state, JoinGroup(group_id="g", **BOB)).facts
    assert isinstance(joined, MemberJoined) and joined.user_id == "bob"
    state.apply(joined)
    assert decide(state, JoinGroup(group_id="g", **BOB)).facts == []


def test_a_private_group_takes_invited_users_only() -> None:
    state = group(private=True)
    assert refusal(state, JoinGroup(group_id="g", **BOB)) == "invitation_required"
    outsider = InviteMember(group_id="g", invitee_id="cat", invitee="Cat", **BOB)
    assert refusal(state, outsider) == "not_a_member"
    invite = InviteMember(group_id="g", invitee_id="bob", invitee="Bob", **ANN)
    (invited,) = decide(state, invite).facts
    assert isinstance(invited, MemberInvited)
    state.apply(invited)
    assert decide(state, invite).facts == []
    (joined,) = decide(state, JoinGroup(group_id="g", **BOB)).facts
    state.apply(joined)
    assert "bob" in state.members and "bob" not in state.invited


def test_leaving_and_removal() -> None:
    state = group(members={"ann": "Ann", "bob": "Bob"})
    assert refusal(state, RemoveMember(group_id="g", member_id="ann", **BOB)) == "not_owner"
    owner_self = RemoveMember(group_id="g", member_id="ann", **ANN)
    assert refusal(state, owner_self) == "cannot_remove_owner"
    (removed,) = decide(state, RemoveMember(group_id="g", member_id="bob", **ANN)).facts
    assert isinstance(removed, MemberRemoved) and removed.username == "Bob"
    state.apply(removed)
    assert decide(state, RemoveMember(group_id="g", member_id="bob", **ANN)).facts == []
    (left,) = decide(state, LeaveGroup(group_id="g", **ANN)).facts
    assert isinstance(left, MemberLeft)


def with_messages(*authors: dict[str, Any]) -> GroupState:
    """A group of Ann and Bob where message ``n`` was sent by ``authors[n - 1]``."""
    state = group(members={"ann": "Ann", "bob": "Bob"})
    for n, author in enumerate(authors, start=1):
        send(state, author, f"m{n}")
    return state


@pytest.mark.parametrize(
    ("message_id", "actor", "code"),
    [
        ("g:9", ANN, "message_not_found"),
        ("other:1", ANN, "message_not_found"),
        ("g:2", ANN, "not_author"),
        ("g:1", {"actor_id": "eve", "actor": "Eve"}, "not_a_member"),
    ],
)
def test_edits_are_refused(message_id: str, actor: dict[str, Any], code: str) -> None:
    edit = EditMessage(group_id="g", message_id=message_id, body="new", **actor)
    assert refusal(with_messages(ANN, BOB), edit) == code


def test_the_author_edits_and_deletes_once_and_changes_are_numbered() -> None:
    state = with_messages(ANN, BOB, ANN)
    (edited,) = decide(
        state, EditMessage(group_id="g", message_id="g:3", body="new", **ANN)
    ).facts
    assert isinstance(edited, MessageEdited) and (edited.seq, edited.body) == (3, "new")
    assert edited.change == 1
    state.apply(edited)
    delete = DeleteMessage(group_id="g", message_id="g:3", **ANN)
    (deleted,) = decide(state, delete).facts
    assert isinstance(deleted, MessageDeleted) and (deleted.seq, deleted.change) == (3, 2)
    state.apply(deleted)
    assert decide(state, delete).facts == [] and decide(state, delete).refusal is None
    edit_again = EditMessage(group_id="g", message_id="g:3", body="x", **ANN)
    assert refusal(state, edit_again) == "message_deleted"


def test_messages_are_numbered_without_gaps_and_a_resend_stores_nothing() -> None:
    state = group(members={"ann": "Ann", "bob": "Bob"})
    first, second = send(state, ANN, "a"), send(state, BOB, "a")
    assert [f.seq for f in first.facts + second.facts if isinstance(f, MessageSaved)] == [1, 2]
    again = send(state, ANN, "a")
    assert again.facts == [] and again.refusal is None and again.seq == 1
    assert state.last_seq == 2


def test_a_refused_send_consumes_no_number() -> None:
    state = group(members={"ann": "Ann"})
    assert send(state, BOB, "x").refusal is not None
    assert send(state, ANN, "y").seq == 1


def test_a_resend_after_the_sender_was_removed_is_still_answered_with_its_message() -> None:
    """A send followed by the sender's removal, decided again: the message stays saved and
    the resend is recognised, never refused (which would leave a hole in the log)."""
    state = group(members={"ann": "Ann", "bob": "Bob"})
    assert send(state, BOB, "b1").seq == 1
    (removed,) = decide(state, RemoveMember(group_id="g", member_id="bob", **ANN)).facts
    state.apply(removed)
    again = send(state, BOB, "b1")
    assert again.refusal is None and again.seq == 1 and again.facts == []
    assert send(state, BOB, "b2").refusal is not None


def test_membership_facts_carry_the_groups_version() -> None:
    state = GroupState("g")
    versions = []
    for request in (
        CreateGroup(group_id="g", name="x", private=False, **ANN),
        JoinGroup(group_id="g", **BOB),
        LeaveGroup(group_id="g", **BOB),
    ):
        (fact,) = decide(state, request).facts
        state.apply(fact)
        versions.append(getattr(fact, "version", None))
    assert versions == [1, 2, 3] and state.version == 3


@pytest.mark.parametrize(
    "request_",
    [
        SendMessage(group_id="g", client_msg_id="c", body="hi", **ANN),
        JoinGroup(group_id="g", **ANN),
        InviteMember(group_id="g", invitee_id="bob", invitee="Bob", **ANN),
        LeaveGroup(group_id="g", **ANN),
        RemoveMember(group_id="g", member_id="bob", **ANN),
        EditMessage(group_id="g", message_id="g:1", body="x", **ANN),
        DeleteMessage(group_id="g", message_id="g:1", **ANN),
    ],
    ids=lambda request: request.type,
)
def test_every_request_to_a_missing_group_is_refused(request_: AnyRequest) -> None:
    assert refusal(GroupState("g"), request_) == "group_not_found"


def test_a_non_member_cannot_send_invite_or_delete() -> None:
    state = with_messages(ANN)
    eve: dict[str, Any] = {"actor_id": "eve", "actor": "Eve"}
    assert send(state, eve, "x").refusal is not None
    assert refusal(state, SendMessage(group_id="g", client_msg_id="y", body="b", **eve)) == (
        "not_a_member"
    )
    invite = InviteMember(group_id="g", invitee_id="cat", invitee="Cat", **eve)
    assert refusal(state, invite) == "not_a_member"
    assert refusal(state, DeleteMessage(group_id="g", message_id="g:1", **eve)) == (
        "not_a_member"
    )
