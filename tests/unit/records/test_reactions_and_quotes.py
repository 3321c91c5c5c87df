"""A message's slot under reactions (``reacted_slot``), and a reply's quote made from its
original as it is now (``quote``): what the projector writes and what clients are shown."""

from __future__ import annotations

from typing import Any

from records.base import utcnow
from records.facts import MessageDeleted, MessageSaved, ReactionToggled, ReplyTo
from records.views import (
    QUOTE_CHARS,
    REACTION_USER_IDS,
    change_document,
    deleted_slot,
    message_slot,
    quote,
    reacted_slot,
)


def slot(body: str = "hello") -> dict[str, Any]:
    return message_slot(MessageSaved(message_id="g:1", group_id="g", seq=1, sender_id="ann",
                                     sender="Ann", client_msg_id="c", body=body,
                                     saved_at=utcnow()))  # fmt: skip


def toggled(user_id: str, emoji: str, reacted: bool, count: int, change: int) -> ReactionToggled:
    return ReactionToggled(group_id="g", message_id="g:1", seq=1, emoji=emoji, user_id=user_id,
                           username=user_id.title(), reacted=reacted, count=count,
                           change=change)  # fmt: skip


def test_reactions_are_listed_by_first_use_with_their_count_and_people() -> None:
    facts = [
        toggled("bob", "👍", True, 1, 1),
        toggled("cat", "🎉", True, 1, 2),
        toggled("ann", "👍", True, 2, 3),
        toggled("bob", "👍", False, 1, 4),
    ]
    current = slot()
    assert current["reactions"] == []
    for fact in facts:
        current = reacted_slot(current, fact)
    assert current["reactions"] == [
        {"emoji": "👍", "count": 1, "user_ids": ["ann"]},
        {"emoji": "🎉", "count": 1, "user_ids": ["cat"]},
    ]
    assert reacted_slot(current, facts[-1]) == current, "applied twice, the same"
    gone = reacted_slot(current, toggled("cat", "🎉", False, 0, 5))
    assert [r["emoji"] for r in gone["reactions"]] == ["👍"], "an emoji no one has is dropped"
    assert deleted_slot(current, MessageDeleted(group_id="g", message_id="g:1", seq=1,
                                                by_id="ann"))["reactions"] == []  # fmt: skip


def test_the_people_listed_are_bounded_but_the_count_is_not() -> None:
    current = slot()
    for n in range(REACTION_USER_IDS + 5):
        current = reacted_slot(current, toggled(f"u{n:03}", "👍", True, n + 1, n + 1))
    (thumbs,) = current["reactions"]
    assert thumbs["count"] == REACTION_USER_IDS + 5
    assert len(thumbs["user_ids"]) == REACTION_USER_IDS


def test_a_reaction_is_kept_as_a_change_with_what_clients_are_told() -> None:
    document = change_document(toggled("bob", "👍", True, 1, 7))
    assert document["change"] == 7 and document["body"] == "" and not document["deleted"]
    assert document["reaction"] == {
        "emoji": "👍", "user_id": "bob", "username": "Bob", "reacted": True, "count": 1
    }  # fmt: skip


def test_a_quote_shows_the_original_as_it_is_now() -> None:
    reply_to = ReplyTo(message_id="g:1", seq=1, sender_id="ann")
    long = "x" * (QUOTE_CHARS + 20)
    assert quote(reply_to, slot(long)) == {
        "message_id": "g:1", "seq": 1, "sender_id": "ann", "sender": "Ann",
        "snippet": "x" * QUOTE_CHARS, "deleted": False,
    }  # fmt: skip
    edited = slot() | {"body": "new words"}
    assert quote(reply_to.model_dump(), edited)["snippet"] == "new words"
    tombstone = deleted_slot(slot(), MessageDeleted(group_id="g", message_id="g:1", seq=1,
                                                    by_id="ann"))  # fmt: skip
    assert quote(reply_to, tombstone) == {
        "message_id": "g:1", "seq": 1, "sender_id": "ann", "sender": "Ann", "deleted": True
    }  # fmt: skip
    assert quote(reply_to, None)["deleted"] is True, "a view rebuilt without it: no words"
