"""The decision state is a fold of the log: the fast path for saved messages folds exactly
what the full records fold, and deciding a batch again from the same state decides it the
same way (what a restarted worker does after an aborted transaction)."""

from __future__ import annotations

from typing import Any

import pytest

from agents.batches import decide_batch
from agents.snapshots import decode, encode
from agents.state import GroupState, PartitionState
from records.base import utcnow
from records.facts import MessageSaved
from records.requests import (
    AnyRequest,
    CreateGroup,
    DeleteMessage,
    EditMessage,
    JoinGroup,
    RemoveMember,
    SendMessage,
)

ANN: dict[str, Any] = {"actor_id": "ann", "actor": "Ann", "origin": "node", "origin_sid": "s"}
BOB: dict[str, Any] = {"actor_id": "bob", "actor": "Bob", "origin": "node", "origin_sid": "t"}


def story() -> list[AnyRequest]:
    say = lambda who, n: SendMessage(  # noqa: E731
        group_id="g", client_msg_id=f"m{n}", body=f"#{n}", **who
    )
    return [
        CreateGroup(group_id="g", name="g", private=False, **ANN),
        JoinGroup(group_id="g", **BOB),
        say(ANN, 1), say(BOB, 2), say(BOB, 2), say(ANN, 3),
        EditMessage(group_id="g", message_id="g:1", body="#1 again", **ANN),
        DeleteMessage(group_id="g", message_id="g:2", **BOB),
        say(BOB, 4),
        RemoveMember(group_id="g", member_id="bob", **ANN),
        say(BOB, 5), say(BOB, 4),
        CreateGroup(group_id="h", name="h", private=True, **BOB),
    ]  # fmt: skip


def comparable(state: PartitionState) -> dict[str, Any]:
    groups = {
        group_id: {
            key: value for key, value in vars(group).items() if key not in ("dedupe_window",)
        }
        for group_id, group in state.groups.items()
    }
    return {"keys_issued": state.keys_issued, "groups": groups}


def test_a_batch_is_decided_in_order_with_each_fact_folded_in() -> None:
    state = PartitionState(0)
    outcome = decide_batch(state, [r.to_bytes() for r in story()])
    saved = [f for f in outcome.facts if isinstance(f, MessageSaved)]
    assert [(m.client_msg_id, m.seq) for m in saved] == [("m1", 1), ("m2", 2), ("m3", 3), ("m4", 4)]
    answers = [(a.client_msg_id, a.ok, a.code) for a in outcome.answers if a.client_msg_id]
    assert answers == [("m5", False, "not_a_member")], "a saved message needs no answer"
    group = state.group("g")
    assert group.recent["g/bob/m4"] == 4, "the resend after the removal is the saved message"
    assert (group.last_seq, group.last_change, group.version) == (4, 2, 3)
    assert group.deleted == {2} and group.members == {"ann": "Ann"}


def test_folding_the_log_rebuilds_the_state_the_decisions_left() -> None:
    deciding = PartitionState(0)
    outcome = decide_batch(deciding, [r.to_bytes() for r in story()])
    rebuilt = PartitionState(0)
    for fact in outcome.facts:
        rebuilt.fold_raw(fact.to_bytes())
    assert comparable(rebuilt) == comparable(deciding)
    assert rebuilt.folded == len(outcome.facts) and rebuilt.unreadable == 0


def test_deciding_the_same_requests_again_from_the_same_state_decides_the_same() -> None:
    """A worker killed before its transaction committed: the next one folds the committed
    log and decides the same requests again, to the same facts (their bodies sealed with
    fresh keys, numbered the same)."""
    requests = [r.to_bytes() for r in story()]
    first = decide_batch(PartitionState(0), requests)
    second = decide_batch(PartitionState(0), requests)
    strip = lambda facts: [  # noqa: E731
        f.model_dump(exclude={"saved_at", "occurred_at", "sealed"}) for f in facts
    ]
    assert strip(first.facts) == strip(second.facts)
    assert [(k.key_id, k.key_no) for k in first.keys] == [(k.key_id, k.key_no) for k in second.keys]
    fresh = [(k.key, s.key) for k, s in zip(first.keys, second.keys, strict=True) if k.key]
    assert fresh and all(a != b for a, b in fresh)


def test_unreadable_requests_are_set_aside_with_their_reason() -> None:
    outcome = decide_batch(PartitionState(0), [b"{not json", b'{"type": "MessageSubmitted"}'])
    assert outcome.facts == [] and len(outcome.rejected) == 2
    assert all(r.reason for r in outcome.rejected)


def test_the_dedupe_window_is_bounded_per_group() -> None:
    group = GroupState("g", dedupe_window=3)
    for seq in range(1, 6):
        group.saved(seq, "ann", f"m{seq}")
    assert list(group.recent.values()) == [3, 4, 5]
    assert group.author_of(1) == "ann" and group.author_of(6) is None


def test_a_fact_folded_twice_changes_nothing() -> None:
    state = PartitionState(0)
    raw = MessageSaved(
        message_id="g:1", group_id="g", seq=1, sender_id="ann", sender="Ann",
        client_msg_id="c", body="x", saved_at=utcnow(),
    ).to_bytes()  # fmt: skip
    state.fold_raw(raw)
    state.fold_raw(raw)
    assert state.group("g").last_seq == 1 and state.group("g").authors == ["ann"]


def test_a_snapshot_restores_the_state_it_was_taken_of() -> None:
    state = PartitionState(3)
    decide_batch(state, [r.to_bytes() for r in story()])
    restored, offset = decode(encode(state, 42), state.dedupe_window)
    assert offset == 42 and restored.partition == 3
    assert comparable(restored) == comparable(state)


def test_an_unreadable_snapshot_is_refused() -> None:
    with pytest.raises(ValueError):
        decode(b"not a snapshot", 10)
