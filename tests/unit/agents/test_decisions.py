"""What each request decides: given a group's facts, when a request, then these facts or this
refusal (``tests.unit.agents.given``)."""

from __future__ import annotations

from typing import Any

import pytest

from records.facts import Fact
from records.requests import (
    AnyRequest,
    CreateGroup,
    DeclineInvitation,
    DeleteMessage,
    EditMessage,
    InviteMember,
    JoinGroup,
    LeaveGroup,
    MarkRead,
    RemoveMember,
    RevokeInvitation,
    SendMessage,
)
from tests.unit.agents.given import (
    ANN,
    BOB,
    EVE,
    NOW,
    Actor,
    created,
    deleted,
    edited,
    fact,
    facts,
    given,
    invited,
    joined,
    left,
    refusal,
    removed,
    saved,
    when,
)

ANN_AND_BOB: tuple[Fact, ...] = (created(), joined("bob", version=2))
"""Given: Ann created the public group "club" (version 1) and Bob joined it (version 2)."""


def send(who: Actor, client_msg_id: str) -> SendMessage:
    return SendMessage(
        group_id="g", client_msg_id=client_msg_id, body="hi", requested_at=NOW, **who
    )


def message(seq: int, who: Actor, client_msg_id: str) -> dict[str, Any]:
    """Then: ``send(who, client_msg_id)`` saved as message ``seq``."""
    return fact("MessageSaved", message_id=f"g:{seq}", seq=seq, sender_id=who["actor_id"],
                sender=who["actor"], client_msg_id=client_msg_id, body="hi", saved_at=NOW,
                mentions=[], sealed=None, key_no=None, reply_to=None,
                requested_at=NOW)  # fmt: skip


def remove(who: Actor, member_id: str) -> RemoveMember:
    return RemoveMember(group_id="g", member_id=member_id, **who)


def invite(who: Actor, user_id: str) -> InviteMember:
    return InviteMember(group_id="g", invitee_id=user_id, invitee=user_id.title(), **who)


def with_messages(*authors: Actor) -> tuple[Fact, ...]:
    """Given: Ann and Bob's group, where message ``n`` was sent by ``authors[n - 1]``."""
    return (*ANN_AND_BOB, *(saved(n, who, f"m{n}") for n, who in enumerate(authors, start=1)))


def test_creating_a_group_makes_the_creator_its_owner() -> None:
    create = CreateGroup(group_id="g", name="club", private=True, **ANN)
    assert facts(when(given(), create)) == [
        fact("GroupCreated", version=1, name="club", private=True, owner_id="ann", owner="Ann")
    ]
    state = given(created(private=True))
    assert facts(when(state, create)) == []  # the same request again
    assert facts(when(state, LeaveGroup(group_id="g", **ANN))) == [  # she is in it, by name
        fact("MemberLeft", version=2, user_id="ann", username="Ann")
    ]
    assert refusal(state, CreateGroup(group_id="g", name="y", private=False, **BOB)) == (
        "group_exists"
    )


def test_nothing_but_creation_happens_to_a_missing_group() -> None:
    assert refusal(given(), JoinGroup(group_id="g", **BOB)) == "group_not_found"


def test_joining_a_public_group_and_joining_twice() -> None:
    join = JoinGroup(group_id="g", **BOB)
    assert facts(when(given(created()), join)) == [
        fact("MemberJoined", version=2, user_id="bob", username="Bob", read_seq=0)
    ]
    assert facts(when(given(created(), joined("bob", version=2)), join)) == []


def test_a_private_group_takes_invited_users_only() -> None:
    join = JoinGroup(group_id="g", **BOB)
    state = given(created(private=True))
    assert refusal(state, join) == "invitation_required"
    assert refusal(state, invite(BOB, "cat")) == "not_a_member"
    assert facts(when(state, invite(ANN, "bob"))) == [
        fact("MemberInvited", version=2, user_id="bob", username="Bob", by_id="ann", by="Ann",
             group_name="club")
    ]  # fmt: skip

    state = given(created(private=True), invited("bob", version=2))
    assert facts(when(state, invite(ANN, "bob"))) == []  # invited already
    assert facts(when(state, join)) == [
        fact("MemberJoined", version=3, user_id="bob", username="Bob", read_seq=0)
    ]

    state = given(created(private=True), invited("bob", version=2), joined("bob", version=3))
    assert facts(when(state, join)) == []  # a member now
    # and his invitation is used: once he has left, he needs a new one
    state = given(created(private=True), invited("bob", version=2), joined("bob", version=3),
                  left("bob", version=4))  # fmt: skip
    assert refusal(state, join) == "invitation_required"


def test_leaving_and_removal() -> None:
    state = given(*ANN_AND_BOB)
    assert refusal(state, remove(BOB, "ann")) == "not_owner"
    assert refusal(state, remove(ANN, "ann")) == "cannot_remove_owner"
    assert facts(when(state, remove(ANN, "bob"))) == [
        fact("MemberRemoved", version=3, user_id="bob", username="Bob", by_id="ann")
    ]

    state = given(*ANN_AND_BOB, removed("bob", version=3))
    assert facts(when(state, remove(ANN, "bob"))) == []  # removed already
    assert facts(when(state, LeaveGroup(group_id="g", **ANN))) == [
        fact("MemberLeft", version=4, user_id="ann", username="Ann")
    ]


@pytest.mark.parametrize(
    ("message_id", "actor", "code"),
    [
        ("g:9", ANN, "message_not_found"),
        ("other:1", ANN, "message_not_found"),
        ("g:2", ANN, "not_author"),
        ("g:1", EVE, "not_a_member"),
    ],
)
def test_edits_are_refused(message_id: str, actor: Actor, code: str) -> None:
    edit = EditMessage(group_id="g", message_id=message_id, body="new", **actor)
    assert refusal(given(*with_messages(ANN, BOB)), edit) == code


def test_the_author_edits_and_deletes_once_and_changes_are_numbered() -> None:
    messages = with_messages(ANN, BOB, ANN)
    edit = EditMessage(group_id="g", message_id="g:3", body="new", **ANN)
    delete = DeleteMessage(group_id="g", message_id="g:3", **ANN)
    assert facts(when(given(*messages), edit)) == [
        fact("MessageEdited", message_id="g:3", seq=3, body="new", by_id="ann", mentions=[],
             change=1, sealed=None, key_no=None)
    ]  # fmt: skip
    assert facts(when(given(*messages, edited(3, change=1)), delete)) == [
        fact("MessageDeleted", message_id="g:3", seq=3, by_id="ann", change=2, key_no=None)
    ]

    state = given(*messages, edited(3, change=1), deleted(3, change=2))
    assert facts(when(state, delete)) == []  # deleted already
    assert refusal(state, edit) == "message_deleted"


def test_messages_are_numbered_without_gaps_and_a_resend_stores_nothing() -> None:
    assert facts(when(given(*ANN_AND_BOB), send(ANN, "a"))) == [message(1, ANN, "a")]
    # another sender's "a" is another message
    assert facts(when(given(*ANN_AND_BOB, saved(1, ANN, "a")), send(BOB, "a"))) == [
        message(2, BOB, "a")
    ]

    state = given(*ANN_AND_BOB, saved(1, ANN, "a"), saved(2, BOB, "a"))
    again = when(state, send(ANN, "a"))
    assert (again.facts, again.refusal, again.seq) == ([], None, 1)  # answered, not stored
    assert facts(when(state, send(ANN, "b"))) == [message(3, ANN, "b")]  # no number taken


def test_a_refused_send_consumes_no_number() -> None:
    state = given(created())
    assert refusal(state, send(BOB, "x")) == "not_a_member"
    accepted = when(state, send(ANN, "y"))
    assert facts(accepted) == [message(1, ANN, "y")] and accepted.seq == 1


def test_a_resend_after_the_sender_was_removed_is_still_answered_with_its_message() -> None:
    """A send followed by the sender's removal, decided again: the message stays saved and
    the resend is recognised, never refused (which would leave a hole in the log)."""
    assert facts(when(given(*ANN_AND_BOB), send(BOB, "b1"))) == [message(1, BOB, "b1")]
    assert facts(when(given(*ANN_AND_BOB, saved(1, BOB, "b1")), remove(ANN, "bob"))) == [
        fact("MemberRemoved", version=3, user_id="bob", username="Bob", by_id="ann")
    ]

    state = given(*ANN_AND_BOB, saved(1, BOB, "b1"), removed("bob", version=3))
    again = when(state, send(BOB, "b1"))
    assert (again.facts, again.refusal, again.seq) == ([], None, 1)
    assert refusal(state, send(BOB, "b2")) == "not_a_member"


def test_membership_facts_carry_the_groups_version() -> None:
    def versions(request: AnyRequest, *history: Fact) -> list[int]:
        return [decided["version"] for decided in facts(when(given(*history), request))]

    create = CreateGroup(group_id="g", name="club", private=False, **ANN)
    join, leave = JoinGroup(group_id="g", **BOB), LeaveGroup(group_id="g", **BOB)
    assert versions(create) == [1]
    assert versions(join, created()) == [2]
    assert versions(leave, created(), joined("bob", version=2)) == [3]
    assert versions(join, created(), joined("bob", version=2), left("bob", version=3)) == [4]


@pytest.mark.parametrize(
    "request_",
    [
        SendMessage(group_id="g", client_msg_id="c", body="hi", **ANN),
        JoinGroup(group_id="g", **ANN),
        InviteMember(group_id="g", invitee_id="bob", invitee="Bob", **ANN),
        DeclineInvitation(group_id="g", **ANN),
        RevokeInvitation(group_id="g", invitee_id="bob", **ANN),
        LeaveGroup(group_id="g", **ANN),
        RemoveMember(group_id="g", member_id="bob", **ANN),
        EditMessage(group_id="g", message_id="g:1", body="x", **ANN),
        DeleteMessage(group_id="g", message_id="g:1", **ANN),
        MarkRead(group_id="g", seq=1, **ANN),
    ],
    ids=lambda request: request.type,
)
def test_every_request_to_a_missing_group_is_refused(request_: AnyRequest) -> None:
    assert refusal(given(), request_) == "group_not_found"


def test_a_non_member_cannot_send_invite_or_delete() -> None:
    state = given(*with_messages(ANN))
    assert refusal(state, send(EVE, "x")) == "not_a_member"
    assert refusal(state, invite(EVE, "cat")) == "not_a_member"
    delete = DeleteMessage(group_id="g", message_id="g:1", **EVE)
    assert refusal(state, delete) == "not_a_member"
