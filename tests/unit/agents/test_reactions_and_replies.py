"""Reactions and replies as the decider decides them: given a group's facts, when a reaction
or a reply, then these facts or this refusal (``tests.unit.agents.given``)."""

from __future__ import annotations

from typing import Any

import pytest

from agents.batches import answer, decide_batch
from agents.decisions import MAX_EMOJI_PER_MESSAGE
from agents.snapshots import decode, encode
from agents.state import PartitionState
from records.facts import DirectOpened, Fact, ReactionToggled, UserBlocked
from records.requests import (
    CreateGroup,
    EditMessage,
    JoinGroup,
    SendMessage,
    ToggleReaction,
)
from tests.unit.agents.given import (
    ANN,
    BOB,
    CAT,
    EVE,
    Actor,
    created,
    deleted,
    edited,
    fact,
    facts,
    given,
    joined,
    refusal,
    saved,
    when,
)

CLUB: tuple[Fact, ...] = (
    created(),
    joined("bob", version=2),
    joined("cat", version=3),
    saved(1, ANN, "a"),
    saved(2, BOB, "b"),
)
"""Given: Ann's public group "club" with Bob and Cat in it, and two messages: Ann's, Bob's."""


def react(who: Actor, emoji: str = "👍", message_id: str = "g:1", **more: Any) -> ToggleReaction:
    return ToggleReaction(group_id="g", message_id=message_id, emoji=emoji, **who, **more)


def reaction(who: Actor, change: int, *, reacted: bool = True, count: int = 1,
             emoji: str = "👍", seq: int = 1) -> ReactionToggled:  # fmt: skip
    """A reaction of the group's log, as a given."""
    return ReactionToggled(group_id="g", message_id=f"g:{seq}", seq=seq, emoji=emoji,
                           user_id=who["actor_id"], username=who["actor"], reacted=reacted,
                           count=count, change=change)  # fmt: skip


def toggled(who: Actor, change: int, *, reacted: bool = True, count: int = 1,
            emoji: str = "👍", seq: int = 1) -> dict[str, Any]:  # fmt: skip
    """Then: the reaction decided."""
    return fact("ReactionToggled", message_id=f"g:{seq}", seq=seq, emoji=emoji,
                user_id=who["actor_id"], username=who["actor"], reacted=reacted, count=count,
                change=change)  # fmt: skip


def test_a_reaction_is_added_then_taken_back_and_counted() -> None:
    added = when(given(*CLUB), react(BOB))
    assert facts(added) == [toggled(BOB, change=1)]
    assert added.reacted is True
    state = given(*CLUB, reaction(BOB, change=1))
    assert facts(when(state, react(CAT))) == [toggled(CAT, change=2, count=2)]
    taken_back = when(given(*CLUB, reaction(BOB, 1), reaction(CAT, 2, count=2)), react(BOB))
    assert facts(taken_back) == [toggled(BOB, change=3, reacted=False, count=1)]
    assert taken_back.reacted is False


def test_reactions_are_numbered_with_edits_and_deletes() -> None:
    state = given(*CLUB, edited(1, change=1), reaction(BOB, change=2), deleted(2, 3, by=BOB))
    assert facts(when(state, react(CAT))) == [toggled(CAT, change=4, count=2)]
    edit = EditMessage(group_id="g", message_id="g:1", body="new", **ANN)
    assert facts(when(given(*CLUB, reaction(BOB, change=1)), edit))[0]["change"] == 2


def test_a_reaction_asked_as_it_already_is_changes_nothing() -> None:
    state = given(*CLUB, reaction(BOB, change=1))
    again = when(state, react(BOB, reacted=True))
    assert (again.facts, again.refusal, again.reacted) == ([], None, True)
    never = when(state, react(CAT, reacted=False))
    assert (never.facts, never.refusal, never.reacted) == ([], None, False)
    assert facts(when(state, react(BOB, reacted=False))) == [
        toggled(BOB, change=2, reacted=False, count=0)
    ]


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (react(EVE), "not_a_member"),
        (react(BOB, message_id="g:9"), "message_not_found"),
        (react(BOB, message_id="other:1"), "message_not_found"),
        (react(BOB, message_id="g:2"), "message_deleted"),
    ],
)
def test_reactions_are_refused(request_: ToggleReaction, code: str) -> None:
    assert refusal(given(*CLUB, deleted(2, change=1, by=BOB)), request_) == code


def test_a_message_takes_at_most_twenty_different_emoji() -> None:
    emoji = [chr(0x1F600 + n) for n in range(MAX_EMOJI_PER_MESSAGE + 1)]
    full = [reaction(ANN, change=n + 1, emoji=e) for n, e in enumerate(emoji[:-1])]
    state = given(*CLUB, *full)
    assert refusal(state, react(BOB, emoji[-1])) == "too_many_reactions"
    # one of the twenty is still welcome, and taking one back makes room
    assert facts(when(state, react(BOB, emoji[0]))) == [
        toggled(BOB, change=21, count=2, emoji=emoji[0])
    ]
    state = given(*CLUB, *full, reaction(ANN, 21, reacted=False, count=0, emoji=emoji[0]))
    assert refusal(state, react(BOB, emoji[-1])) is None


def test_a_deleted_message_drops_its_reactions() -> None:
    state = given(*CLUB, reaction(BOB, change=1), reaction(CAT, change=2, count=2))
    assert state.reactions == {1: {"👍": {"bob", "cat"}}}
    state.apply(deleted(1, change=3))
    assert state.reactions == {}
    state.apply(reaction(BOB, change=4, reacted=False))  # (a log that has one after: ignored)
    assert state.reactions == {}


def test_the_answer_says_whether_the_reaction_is_there() -> None:
    request = react(BOB, origin="node", origin_sid="s")
    state = given(*CLUB)
    (answered,) = answer(request, when(state, request), state)
    assert (answered.ok, answered.reacted) == (True, True)


def reply(who: Actor, to: str, client_msg_id: str = "r") -> SendMessage:
    return SendMessage(group_id="g", client_msg_id=client_msg_id, body="hi", reply_to=to, **who)


def test_a_reply_names_its_original_and_its_author_and_no_words_of_it() -> None:
    (saved_reply,) = facts(when(given(*CLUB), reply(CAT, "g:2")))
    assert saved_reply["seq"] == 3
    assert saved_reply["reply_to"] == {"message_id": "g:2", "seq": 2, "sender_id": "bob"}


@pytest.mark.parametrize(
    ("original", "code"),
    [("g:9", "message_not_found"), ("other:1", "message_not_found"), ("g:2", "message_deleted")],
)
def test_a_reply_to_a_message_not_here_or_deleted_is_refused(original: str, code: str) -> None:
    assert refusal(given(*CLUB, deleted(2, change=1, by=BOB)), reply(CAT, original)) == code


def test_reactions_survive_a_snapshot() -> None:
    state = PartitionState(0)
    requests = [
        CreateGroup(group_id="g", name="g", private=False, **ANN),
        JoinGroup(group_id="g", **BOB),
        SendMessage(group_id="g", client_msg_id="m1", body="one", **ANN),
        react(ANN), react(BOB), react(BOB, "🎉"), react(ANN),
    ]  # fmt: skip
    decide_batch(state, [r.to_bytes() for r in requests])
    assert state.group("g").reactions == {1: {"👍": {"bob"}, "🎉": {"bob"}}}
    restored, _ = decode(encode(state, 7), state.dedupe_window)
    assert restored.group("g").reactions == state.group("g").reactions
    assert restored.group("g").last_change == 4


def test_no_one_reacts_in_a_direct_conversation_while_one_blocks_the_other() -> None:
    opened = DirectOpened(group_id="g", version=1, user_id="ann", username="Ann",
                          peer_id="bob", peer="Bob")  # fmt: skip
    block = UserBlocked(group_id="g", by_id="ann", by="Ann", user_id="bob", username="Bob")
    talk = (opened, saved(1, ANN, "a"))
    assert refusal(given(*talk), react(BOB)) is None
    assert refusal(given(*talk, block), react(BOB)) == "blocked"
    assert refusal(given(*talk, block), react(ANN)) == "blocked"
