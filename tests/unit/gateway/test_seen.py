"""What a node has read of the log: heads and memberships only move forward, a departure read
after a join was answered is noticed, and the agents' answers count as read."""

from __future__ import annotations

from gateway.seen import SeenLog
from records.base import utcnow
from records.facts import (
    DirectOpened,
    MemberInvited,
    MemberJoined,
    MemberLeft,
    MemberRemoved,
    MessageSaved,
    ReadMarked,
    UserBlocked,
    UserUnblocked,
)
from records.requests import JoinGroup, RequestAnswered


def saved(seq: int, group_id: str = "g") -> MessageSaved:
    return MessageSaved(
        message_id=f"{group_id}:{seq}", group_id=group_id, seq=seq, sender_id="u", sender="Ann",
        client_msg_id=f"c{seq}", body="hi", saved_at=utcnow(),
    )  # fmt: skip


def test_heads_and_memberships_only_move_forward() -> None:
    seen = SeenLog()
    seen.read(saved(5), 0, 10)
    seen.read(saved(3), 0, 11)
    seen.read(MemberJoined(group_id="g", user_id="u", username="U", version=4), 0, 12)
    seen.read(MemberInvited(group_id="g", user_id="u", username="U", by_id="a", version=2), 0, 13)
    assert seen.head("g", "seq") == 5 and seen.head("h", "seq") == 0
    assert seen.head("g", "version") == 4
    assert seen.changes_of("u") == {"g": 4}


def test_every_fact_places_its_group_and_a_read_marker_moves_no_head() -> None:
    seen = SeenLog()
    seen.read(saved(1), 2, 40)
    seen.read(ReadMarked(group_id="g", user_id="u", username="U", seq=1), 2, 41)
    assert seen.placed == {"g": (2, 42)}, "the view holds it once applied past offset 41"
    assert seen.heads == {"g": {"seq": 1, "change": 0, "version": 0}}


def test_an_accepted_request_counts_before_its_facts_are_read() -> None:
    seen = SeenLog()
    request = JoinGroup(group_id="g", actor_id="u", actor="U", origin="node")
    answer = RequestAnswered(
        request_id=request.event_id, request_type=request.type, group_id="g", origin="node",
        ok=True, version=6,
    )  # fmt: skip
    seen.answered(request, answer)
    assert seen.head("g", "version") == 6 and seen.changes_of("u") == {"g": 6}
    seen.answered(request, answer.model_copy(update={"version": None}))  # a send: no version
    assert seen.changes_of("u") == {"g": 6}


def test_a_departure_read_after_a_join_was_answered_is_noticed() -> None:
    seen = SeenLog()

    def read(fact: MemberJoined | MemberLeft | MemberRemoved) -> None:
        seen.read(fact, 0, fact.version)

    assert not seen.departed_after("bob", "g", 3)
    read(MemberRemoved(group_id="g", user_id="bob", username="Bob", by_id="ann", version=5))
    assert seen.departed_after("bob", "g", 4)  # a join answered at version 4 came before it
    assert not seen.departed_after("bob", "g", 5)
    read(MemberJoined(group_id="g", user_id="bob", username="Bob", version=6))  # invited back
    assert not seen.departed_after("bob", "g", 4)
    read(MemberLeft(group_id="g", user_id="bob", username="Bob", version=7))
    read(MemberJoined(group_id="g", user_id="bob", username="Bob", version=6))  # read late
    assert seen.departed_after("bob", "g", 6), "an older join does not undo a newer departure"


def test_a_direct_conversation_begun_concerns_both_people_and_a_block_neither() -> None:
    seen = SeenLog()
    seen.read(DirectOpened(group_id="dm", user_id="ann", username="Ann", peer_id="bob",
                           peer="Bob", version=1), 0, 2)  # fmt: skip
    assert seen.changes_of("ann") == {"dm": 1} and seen.changes_of("bob") == {"dm": 1}
    assert seen.head("dm", "version") == 1
    seen.read(UserBlocked(group_id="dm", by_id="ann", by="Ann", user_id="bob", username="Bob"),
              0, 3)  # fmt: skip
    assert seen.heads["dm"] == {"seq": 0, "change": 0, "version": 1}
    assert seen.changes_of("ann") == {"dm": 1} and seen.placed["dm"] == (0, 4)


def test_a_conversations_blocks_are_known_as_read_ahead_of_the_views() -> None:
    seen = SeenLog()
    assert seen.blockers.get("dm") is None  # none read: the views tell
    block = {"group_id": "dm", "by_id": "ann", "by": "Ann", "user_id": "bob", "username": "Bob"}
    seen.read(UserBlocked(**block), 0, 1)
    assert seen.blockers["dm"] == {"ann"}
    seen.read(UserUnblocked(**block), 0, 2)
    assert seen.blockers["dm"] == set()  # read: no block, whatever the views still show
