"""Direct conversations and blocks, as Given / When / Then: a private group of exactly two,
begun by either, which the one who left comes back to when the other writes, and which no
one writes into while either blocks the other."""

from __future__ import annotations

from typing import Any

from agents.decisions import Decision
from agents.snapshots import decode, encode
from agents.state import GroupState, PartitionState
from records.direct import direct_group_id
from records.facts import DirectOpened, Fact, MemberLeft, MessageSaved, UserBlocked
from records.requests import (
    AnyRequest,
    BlockUser,
    CreateGroup,
    DeclineInvitation,
    InviteMember,
    JoinGroup,
    OpenDirect,
    RemoveMember,
    RevokeInvitation,
    SendMessage,
    UnblockUser,
)
from tests.unit.agents.given import ANN, BOB, CAT, NOW, Actor, refusal, when

DM = direct_group_id("ann", "bob")
"""Ann and Bob's conversation."""


def given(*facts: Fact) -> GroupState:
    """The state of Ann and Bob's conversation folded from ``facts``, in log order."""
    state = GroupState(DM)
    for fact in facts:
        state.apply(fact)
    return state


def then(decision: Decision) -> list[dict[str, Any]]:
    """The facts decided, each with every field but its moment (its request's)."""
    assert decision.refusal is None, decision.refusal
    return [fact.model_dump(exclude={"occurred_at"}) for fact in decision.facts]


def fact(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "group_id": DM, **fields}


def opened(by: Actor = ANN) -> DirectOpened:
    """The conversation began (version 1), opened by ``by``."""
    peer = BOB if by is ANN else ANN
    return DirectOpened(group_id=DM, version=1, user_id=by["actor_id"], username=by["actor"],
                        peer_id=peer["actor_id"], peer=peer["actor"])  # fmt: skip


def left(who: Actor, version: int) -> MemberLeft:
    return MemberLeft(group_id=DM, version=version, user_id=who["actor_id"], username=who["actor"])


def saved(seq: int, who: Actor) -> MessageSaved:
    return MessageSaved(message_id=f"{DM}:{seq}", group_id=DM, seq=seq,
                        sender_id=who["actor_id"], sender=who["actor"],
                        client_msg_id=f"c{seq}", body="hi", saved_at=NOW)  # fmt: skip


def blocked(by: Actor) -> UserBlocked:
    other = BOB if by is ANN else ANN
    return UserBlocked(group_id=DM, by_id=by["actor_id"], by=by["actor"],
                       user_id=other["actor_id"], username=other["actor"])  # fmt: skip


def open_with(who: Actor, peer: Actor, group_id: str = DM) -> OpenDirect:
    return OpenDirect(group_id=group_id, peer_id=peer["actor_id"], peer=peer["actor"], **who)


def send(who: Actor, client_msg_id: str) -> SendMessage:
    return SendMessage(
        group_id=DM, client_msg_id=client_msg_id, body="hello", requested_at=NOW, **who
    )


def block(who: Actor, other: Actor) -> BlockUser:
    return BlockUser(group_id=DM, user_id=other["actor_id"], username=other["actor"], **who)


def unblock(who: Actor, other: Actor) -> UnblockUser:
    return UnblockUser(group_id=DM, user_id=other["actor_id"], username=other["actor"], **who)


def test_either_person_opens_the_one_conversation_and_opening_it_again_changes_nothing() -> None:
    assert then(when(given(), open_with(ANN, BOB))) == [
        fact("DirectOpened", version=1, user_id="ann", username="Ann", peer_id="bob", peer="Bob")
    ]
    state = given(opened())
    assert state.members == {"ann": "Ann", "bob": "Bob"} and state.private
    assert then(when(state, open_with(BOB, ANN))) == []
    assert then(when(state, open_with(ANN, BOB))) == []


def test_no_one_opens_a_conversation_with_themselves_or_under_another_pairs_id() -> None:
    assert refusal(given(), open_with(ANN, ANN, direct_group_id("ann", "ann"))) == "not_allowed"
    assert refusal(given(), open_with(ANN, CAT)) == "not_allowed"  # Ann and Bob's id
    assert refusal(given(), open_with(CAT, BOB)) == "not_allowed"
    assert refusal(given(), block(CAT, BOB)) == "not_allowed"
    assert refusal(given(), block(ANN, ANN)) == "not_allowed"


def test_a_conversation_is_its_two_peoples_alone() -> None:
    requests: list[AnyRequest] = [
        CreateGroup(group_id=DM, name="mine", private=False, **ANN),
        JoinGroup(group_id=DM, **CAT),
        InviteMember(group_id=DM, invitee_id="cat", invitee="Cat", **ANN),
        RemoveMember(group_id=DM, member_id="bob", **ANN),
        RevokeInvitation(group_id=DM, invitee_id="cat", **ANN),
        DeclineInvitation(group_id=DM, **CAT),
    ]
    for request in requests:
        assert refusal(given(opened()), request) == "not_allowed", request.type
    assert refusal(given(), requests[0]) == "not_allowed"  # not begun: not created either
    assert refusal(given(), JoinGroup(group_id=DM, **BOB)) == "group_not_found"


def test_the_one_who_left_comes_back_when_the_other_writes_with_the_message_unread() -> None:
    state = given(opened(), saved(1, ANN), left(BOB, 2))
    assert then(when(state, send(ANN, "m2"))) == [
        fact(
            "MemberJoined",
            version=3,
            user_id="bob",
            username="Bob",
            read_seq=1,
            peer_id="ann",
            peer="Ann",
        ),  # fmt: skip
        {**saved(2, ANN).model_dump(), "client_msg_id": "m2", "body": "hello", "requested_at": NOW},
    ]
    for event in when(state, send(ANN, "m2")).facts:
        state.apply(event)
    assert state.members == {"ann": "Ann", "bob": "Bob"}
    resent = when(state, send(ANN, "m2"))
    assert (resent.facts, resent.seq) == ([], 2)  # sent again: answered, not stored twice
    assert refusal(given(opened(), left(BOB, 2)), send(BOB, "m")) == "not_a_member"


def test_the_one_who_left_comes_back_by_opening_it_or_joining_it() -> None:
    state = given(opened(), saved(1, ANN), left(BOB, 2))
    back = fact(
        "MemberJoined", version=3, user_id="bob", username="Bob", read_seq=1,
        peer_id="ann", peer="Ann",
    )  # fmt: skip
    assert then(when(state, open_with(BOB, ANN))) == [back]
    assert then(when(state, JoinGroup(group_id=DM, **BOB))) == [back]


def test_no_one_writes_while_either_blocks_the_other() -> None:
    assert then(when(given(opened()), block(ANN, BOB))) == [
        fact("UserBlocked", by_id="ann", by="Ann", user_id="bob", username="Bob")
    ]
    state = given(opened(), saved(1, BOB), blocked(ANN))
    assert state.blockers == {"ann"} and state.version == 1  # a block is no membership fact
    assert refusal(state, send(BOB, "m2")) == "blocked"
    denied = when(state, send(ANN, "m2")).refusal
    assert denied is not None and "unblock" in denied.message  # the blocker is told why
    told = when(state, send(BOB, "m2")).refusal
    assert told is not None and told.message == "you cannot write to this person"
    assert then(when(state, send(BOB, "c1"))) == []  # a resend before the block: answered
    assert then(when(state, block(ANN, BOB))) == []  # blocked already
    assert then(when(state, unblock(BOB, ANN))) == []  # Bob blocks no one
    assert then(when(state, unblock(ANN, BOB))) == [
        fact("UserUnblocked", by_id="ann", by="Ann", user_id="bob", username="Bob")
    ]


def test_a_blocked_person_cannot_come_back_nor_open_it() -> None:
    state = given(opened(), left(BOB, 2), blocked(ANN))
    assert refusal(state, JoinGroup(group_id=DM, **BOB)) == "blocked"
    assert refusal(state, open_with(BOB, ANN)) == "blocked"
    assert refusal(state, open_with(ANN, BOB)) == "blocked"  # nor the blocker while they block


def test_a_block_before_the_conversation_begins_keeps_it_from_beginning() -> None:
    state = given()
    assert then(when(state, block(BOB, ANN))) == [
        fact("UserBlocked", by_id="bob", by="Bob", user_id="ann", username="Ann")
    ]
    state.apply(blocked(BOB))
    assert not state.exists
    assert refusal(state, open_with(ANN, BOB)) == "blocked"
    for event in when(state, unblock(BOB, ANN)).facts:
        state.apply(event)
    assert then(when(state, open_with(ANN, BOB)))[0]["type"] == "DirectOpened"


def test_a_snapshot_keeps_the_two_people_and_the_blocks() -> None:
    partition = PartitionState(0)
    for event in (opened(), left(BOB, 2), blocked(ANN)):
        partition.apply(event)
    restored, _ = decode(encode(partition, 7), dedupe_window=100)
    group = restored.groups[DM]
    assert group.direct == {"ann": "Ann", "bob": "Bob"} and group.members == {"ann": "Ann"}
    assert group.blockers == {"ann"}
