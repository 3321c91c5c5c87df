"""Who may remove, rejoin, decline and revoke: the rules that keep a removed person out and
bound what one account can do to another."""

from __future__ import annotations

from typing import Any

from agents.decisions import MAX_PENDING_INVITATIONS, Decision
from agents.decisions import decide as decide_at
from agents.snapshots import decode, encode
from agents.state import GroupState, PartitionState
from records.base import utcnow
from records.facts import Fact, GroupCreated, MemberInvited, MemberJoined, MessageSaved
from records.requests import (
    AnyRequest,
    DeclineInvitation,
    InviteMember,
    JoinGroup,
    LeaveGroup,
    RemoveMember,
    RevokeInvitation,
)
from tests.unit.agents.given import ANN, BOB, CAT, fact, facts, refusal


def given(state: GroupState, *facts: Fact) -> GroupState:
    for event in facts:
        state.apply(event)
    return state


def group(private: bool = False) -> GroupState:
    """Given: Ann created the group "club" (version 1), Bob joined it (version 2)."""
    created = GroupCreated(
        group_id="g", version=1, name="club", private=private, owner_id="ann", owner="Ann"
    )
    state = given(GroupState("g"), created)
    return given(state, joined(state, "bob"))


def joined(state: GroupState, user_id: str, username: str | None = None) -> MemberJoined:
    """``user_id`` joined, as the group's next membership fact."""
    return MemberJoined(group_id="g", version=state.version + 1, user_id=user_id,
                        username=username or user_id.title())  # fmt: skip


def saved(seq: int) -> MessageSaved:
    return MessageSaved(message_id=f"g:{seq}", group_id="g", seq=seq, sender_id="ann",
                        sender="Ann", client_msg_id=f"c{seq}", body="x",
                        saved_at=utcnow())  # fmt: skip


def apply(state: GroupState, request: AnyRequest) -> Decision:
    """Decide and fold what was decided, as the decider does."""
    decision = decide_at(state, request, utcnow())
    for event in decision.facts:
        state.apply(event)
    return decision


def invite(who: dict[str, Any], user_id: str) -> InviteMember:
    return InviteMember(group_id="g", invitee_id=user_id, invitee=user_id.title(), **who)


def test_a_removed_member_cannot_rejoin_a_public_group_until_the_owner_invites_them() -> None:
    state = group(private=False)
    removed = apply(state, RemoveMember(group_id="g", member_id="bob", **ANN))
    assert facts(removed) == [
        fact("MemberRemoved", version=3, user_id="bob", username="Bob", by_id="ann")
    ]
    assert refusal(state, JoinGroup(group_id="g", **BOB)) == "removed"
    given(state, joined(state, "cat"))  # version 4
    assert refusal(state, invite(CAT, "bob")) == "not_owner"  # another member cannot
    assert facts(apply(state, invite(ANN, "bob"))) == [
        fact("MemberInvited", version=5, user_id="bob", username="Bob", by_id="ann", by="Ann",
             group_name="club")
    ]  # fmt: skip
    assert facts(apply(state, JoinGroup(group_id="g", **BOB))) == [
        fact("MemberJoined", version=6, user_id="bob", username="Bob", read_seq=0)
    ]
    assert "bob" in state.members and "bob" not in state.removed


def test_an_invitation_back_that_is_revoked_or_declined_leaves_the_removal_in_place() -> None:
    for ending, ended in (
        (
            RevokeInvitation(group_id="g", invitee_id="bob", **ANN),
            fact("InvitationRevoked", version=5, user_id="bob", username="Bob", by_id="ann"),
        ),
        (
            DeclineInvitation(group_id="g", **BOB),
            fact("InvitationDeclined", version=5, user_id="bob", username="Bob"),
        ),
    ):
        state = group(private=False)
        apply(state, RemoveMember(group_id="g", member_id="bob", **ANN))  # version 3
        apply(state, invite(ANN, "bob"))  # version 4
        assert facts(apply(state, ending)) == [ended]
        assert refusal(state, JoinGroup(group_id="g", **BOB)) == "removed"
        apply(state, invite(ANN, "bob"))  # the owner may still invite them back: version 6
        assert facts(apply(state, JoinGroup(group_id="g", **BOB))) == [
            fact("MemberJoined", version=7, user_id="bob", username="Bob", read_seq=0)
        ]


def test_someone_who_left_may_come_back_to_a_public_group() -> None:
    state = group(private=False)
    assert facts(apply(state, LeaveGroup(group_id="g", **BOB))) == [
        fact("MemberLeft", version=3, user_id="bob", username="Bob")
    ]
    assert facts(apply(state, JoinGroup(group_id="g", **BOB))) == [
        fact("MemberJoined", version=4, user_id="bob", username="Bob", read_seq=0)
    ]


def test_an_owner_who_left_can_no_longer_remove_members() -> None:
    state = group(private=True)
    apply(state, LeaveGroup(group_id="g", **ANN))
    assert refusal(state, RemoveMember(group_id="g", member_id="bob", **ANN)) == "not_owner"
    assert "bob" in state.members


def test_the_invited_person_declines_and_the_invitation_is_gone() -> None:
    state = group(private=True)
    apply(state, invite(BOB, "cat"))  # version 3
    assert facts(apply(state, DeclineInvitation(group_id="g", **CAT))) == [
        fact("InvitationDeclined", version=4, user_id="cat", username="Cat")
    ]
    assert "cat" not in state.invited
    assert refusal(state, JoinGroup(group_id="g", **CAT)) == "invitation_required"
    assert facts(apply(state, DeclineInvitation(group_id="g", **CAT))) == []  # twice: nothing


def test_the_inviter_or_the_owner_revokes_an_invitation_and_no_one_else() -> None:
    state = group(private=True)
    given(state, joined(state, "dan"))  # version 3
    apply(state, invite(BOB, "cat"))  # version 4
    dan = {"actor_id": "dan", "actor": "Dan"}
    revoke = RevokeInvitation(group_id="g", invitee_id="cat", **dan)
    assert refusal(state, revoke) == "not_inviter"
    stranger = RevokeInvitation(group_id="g", invitee_id="cat", actor_id="eve", actor="Eve")
    assert refusal(state, stranger) == "not_a_member"
    revoked = apply(state, RevokeInvitation(group_id="g", invitee_id="cat", **ANN))
    assert facts(revoked) == [
        fact("InvitationRevoked", version=5, user_id="cat", username="Cat", by_id="ann")
    ]
    assert refusal(state, JoinGroup(group_id="g", **CAT)) == "invitation_required"
    apply(state, invite(BOB, "cat"))  # version 6
    assert facts(apply(state, RevokeInvitation(group_id="g", invitee_id="cat", **BOB))) == [
        fact("InvitationRevoked", version=7, user_id="cat", username="Cat", by_id="bob")
    ]


def test_a_group_has_a_bounded_number_of_pending_invitations() -> None:
    state = group(private=True)
    given(state, *(MemberInvited(group_id="g", version=3 + n, user_id=f"u{n}", username=f"U{n}",
                                 by_id="ann") for n in range(MAX_PENDING_INVITATIONS)))  # fmt: skip
    assert refusal(state, invite(ANN, "cat")) == "too_many_invitations"
    apply(state, RevokeInvitation(group_id="g", invitee_id="u0", **ANN))
    assert facts(apply(state, invite(ANN, "cat"))) == [
        fact("MemberInvited", version=MAX_PENDING_INVITATIONS + 4, user_id="cat",
             username="Cat", by_id="ann", by="Ann", group_name="club")
    ]  # fmt: skip


def test_a_snapshot_keeps_who_was_removed_and_who_invited_whom() -> None:
    partition = PartitionState(0)
    state = partition.groups["g"] = group(private=False)
    apply(state, invite(BOB, "cat"))
    apply(state, RemoveMember(group_id="g", member_id="bob", **ANN))
    restored, offset = decode(encode(partition, 42), dedupe_window=10)
    again = restored.groups["g"]
    assert offset == 42
    assert (again.removed, again.invited_by) == ({"bob": "Bob"}, {"cat": "bob"})
    assert refusal(again, JoinGroup(group_id="g", **BOB)) == "removed"


def test_a_read_marker_moves_forward_only_and_never_past_the_last_message() -> None:
    from agents.decisions import mentioned
    from records.requests import MarkRead

    state = given(group(), saved(1), saved(2), saved(3))
    assert facts(apply(state, MarkRead(group_id="g", seq=2, **BOB))) == [
        fact("ReadMarked", user_id="bob", username="Bob", seq=2)
    ]
    older = decide_at(state, MarkRead(group_id="g", seq=1, **BOB), utcnow())
    assert (older.facts, older.refusal, older.seq) == ([], None, 2)  # accepted, changes nothing
    assert facts(apply(state, MarkRead(group_id="g", seq=99, **BOB))) == [
        fact("ReadMarked", user_id="bob", username="Bob", seq=3)  # clamped to the last
    ]
    assert refusal(state, MarkRead(group_id="g", seq=1, **CAT)) == "not_a_member"
    given(state, joined(state, "cat", "Cat.Jones"))
    assert mentioned(state, "hi @bob and @CAT.JONES, @bob again, @ann @nobody x@bob", "ann") == [
        "bob", "cat"
    ]  # fmt: skip


def test_a_newcomer_joins_with_nothing_unread() -> None:
    state = given(group(), *(saved(seq) for seq in range(1, 8)))
    assert facts(apply(state, JoinGroup(group_id="g", **CAT))) == [
        fact("MemberJoined", version=3, user_id="cat", username="Cat", read_seq=7)
    ]
    assert state.read["cat"] == 7
