"""Who may remove, rejoin, decline and revoke: the rules that keep a removed person out and
bound what one account can do to another."""

from __future__ import annotations

from typing import Any

from agents.decisions import MAX_PENDING_INVITATIONS, Decision
from agents.decisions import decide as decide_at
from agents.snapshots import decode, encode
from agents.state import GroupState, PartitionState
from records.base import utcnow
from records.facts import InvitationDeclined, InvitationRevoked, MemberRemoved
from records.requests import (
    AnyRequest,
    DeclineInvitation,
    InviteMember,
    JoinGroup,
    LeaveGroup,
    RemoveMember,
    RevokeInvitation,
)

ANN: dict[str, Any] = {"actor_id": "ann", "actor": "Ann"}  # the owner
BOB: dict[str, Any] = {"actor_id": "bob", "actor": "Bob"}
CAT: dict[str, Any] = {"actor_id": "cat", "actor": "Cat"}


def group(private: bool = False) -> GroupState:
    return GroupState(
        "g", exists=True, private=private, owner_id="ann", members={"ann": "Ann", "bob": "Bob"}
    )


def apply(state: GroupState, request: AnyRequest) -> Decision:
    """Decide and fold what was decided, as the decider does."""
    decision = decide_at(state, request, utcnow())
    for fact in decision.facts:
        state.apply(fact)
    return decision


def refusal(state: GroupState, request: AnyRequest) -> str | None:
    decision = decide_at(state, request, utcnow())
    return decision.refusal.code if decision.refusal else None


def invite(who: dict[str, Any], user_id: str) -> InviteMember:
    return InviteMember(group_id="g", invitee_id=user_id, invitee=user_id.title(), **who)


def test_a_removed_member_cannot_rejoin_a_public_group_until_the_owner_invites_them() -> None:
    state = group(private=False)
    (removed,) = apply(state, RemoveMember(group_id="g", member_id="bob", **ANN)).facts
    assert isinstance(removed, MemberRemoved)
    assert refusal(state, JoinGroup(group_id="g", **BOB)) == "removed"
    state.members["cat"] = "Cat"
    assert refusal(state, invite(CAT, "bob")) == "not_owner"  # another member cannot
    apply(state, invite(ANN, "bob"))
    assert apply(state, JoinGroup(group_id="g", **BOB)).facts
    assert "bob" in state.members and "bob" not in state.removed


def test_an_invitation_back_that_is_revoked_or_declined_leaves_the_removal_in_place() -> None:
    for ending in (
        RevokeInvitation(group_id="g", invitee_id="bob", **ANN),
        DeclineInvitation(group_id="g", **BOB),
    ):
        state = group(private=False)
        apply(state, RemoveMember(group_id="g", member_id="bob", **ANN))
        apply(state, invite(ANN, "bob"))
        (ended,) = apply(state, ending).facts
        assert isinstance(ended, InvitationRevoked | InvitationDeclined)
        assert refusal(state, JoinGroup(group_id="g", **BOB)) == "removed"
        apply(state, invite(ANN, "bob"))  # the owner may still invite them back
        assert apply(state, JoinGroup(group_id="g", **BOB)).facts


def test_someone_who_left_may_come_back_to_a_public_group() -> None:
    state = group(private=False)
    apply(state, LeaveGroup(group_id="g", **BOB))
    assert apply(state, JoinGroup(group_id="g", **BOB)).facts


def test_an_owner_who_left_can_no_longer_remove_members() -> None:
    state = group(private=True)
    apply(state, LeaveGroup(group_id="g", **ANN))
    assert refusal(state, RemoveMember(group_id="g", member_id="bob", **ANN)) == "not_owner"
    assert "bob" in state.members


def test_the_invited_person_declines_and_the_invitation_is_gone() -> None:
    state = group(private=True)
    apply(state, invite(BOB, "cat"))
    (declined,) = apply(state, DeclineInvitation(group_id="g", **CAT)).facts
    assert isinstance(declined, InvitationDeclined) and declined.version == state.version
    assert "cat" not in state.invited
    assert refusal(state, JoinGroup(group_id="g", **CAT)) == "invitation_required"
    assert apply(state, DeclineInvitation(group_id="g", **CAT)).facts == []  # twice: nothing


def test_the_inviter_or_the_owner_revokes_an_invitation_and_no_one_else() -> None:
    state = group(private=True)
    state.members["dan"] = "Dan"
    apply(state, invite(BOB, "cat"))
    dan = {"actor_id": "dan", "actor": "Dan"}
    revoke = RevokeInvitation(group_id="g", invitee_id="cat", **dan)
    assert refusal(state, revoke) == "not_inviter"
    stranger = RevokeInvitation(group_id="g", invitee_id="cat", actor_id="eve", actor="Eve")
    assert refusal(state, stranger) == "not_a_member"
    (revoked,) = apply(state, RevokeInvitation(group_id="g", invitee_id="cat", **ANN)).facts
    assert isinstance(revoked, InvitationRevoked) and revoked.by_id == "ann"
    assert refusal(state, JoinGroup(group_id="g", **CAT)) == "invitation_required"
    apply(state, invite(BOB, "cat"))
    assert apply(state, RevokeInvitation(group_id="g", invitee_id="cat", **BOB)).facts


def test_a_group_has_a_bounded_number_of_pending_invitations() -> None:
    state = group(private=True)
    for n in range(MAX_PENDING_INVITATIONS):
        state.invited[f"u{n}"] = f"U{n}"
    assert refusal(state, invite(ANN, "cat")) == "too_many_invitations"
    apply(state, RevokeInvitation(group_id="g", invitee_id="u0", **ANN))
    assert refusal(state, invite(ANN, "cat")) is None


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
    from records.facts import MessageSaved, ReadMarked
    from records.requests import MarkRead

    state = group()
    for seq in (1, 2, 3):
        state.apply(MessageSaved(message_id=f"g:{seq}", group_id="g", seq=seq, sender_id="ann",
                                 sender="Ann", client_msg_id=f"c{seq}", body="x",
                                 saved_at=utcnow()))  # fmt: skip
    (marked,) = apply(state, MarkRead(group_id="g", seq=2, **BOB)).facts
    assert isinstance(marked, ReadMarked) and (marked.user_id, marked.seq) == ("bob", 2)
    older = decide_at(state, MarkRead(group_id="g", seq=1, **BOB), utcnow())
    assert (older.facts, older.seq) == ([], 2)  # accepted, changes nothing
    (clamped,) = apply(state, MarkRead(group_id="g", seq=99, **BOB)).facts
    assert clamped.seq == 3
    assert refusal(state, MarkRead(group_id="g", seq=1, **CAT)) == "not_a_member"
    state.members["cat"] = "Cat.Jones"
    assert mentioned(state, "hi @bob and @CAT.JONES, @bob again, @ann @nobody x@bob", "ann") == [
        "bob", "cat"
    ]  # fmt: skip


def test_a_newcomer_joins_with_nothing_unread() -> None:
    from records.facts import MemberJoined

    state = group()
    state.last_seq = 7
    (joined,) = apply(state, JoinGroup(group_id="g", **CAT)).facts
    assert isinstance(joined, MemberJoined) and joined.read_seq == 7
    assert state.read["cat"] == 7
