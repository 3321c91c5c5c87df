"""Reactions and replies as clients get them: the ``reaction`` event (live and caught up from
the changes shelf alike), every message's ``reactions``, and a reply's quote of its original
as the node last read it (``gateway.quotes``), from the views when it has not."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.client_events import change_to_client, client_events, slot_to_client
from gateway.gate import ORDERED
from gateway.quotes import Quotes
from gateway.seen import SeenLog
from records.base import utcnow
from records.facts import MessageDeleted, MessageEdited, MessageSaved, ReactionToggled, ReplyTo
from records.views import change_document, message_slot


def toggled(change: int = 5) -> ReactionToggled:
    return ReactionToggled(group_id="g", message_id="g:1", seq=1, emoji="👍", user_id="bob",
                           username="Bob", reacted=True, count=2, change=change)  # fmt: skip


def saved(seq: int, body: str = "hi", reply_to: ReplyTo | None = None) -> MessageSaved:
    return MessageSaved(message_id=f"g:{seq}", group_id="g", seq=seq, sender_id="ann",
                        sender="Ann", client_msg_id=f"c{seq}", body=body, saved_at=utcnow(),
                        reply_to=reply_to)  # fmt: skip


def test_a_reaction_goes_to_the_group_in_order_with_edits() -> None:
    ((name, rooms, payload),) = client_events(toggled())
    assert (name, rooms) == ("reaction", ["group:g"])
    assert payload == {
        "group_id": "g", "message_id": "g:1", "seq": 1, "emoji": "👍", "user_id": "bob",
        "username": "Bob", "reacted": True, "count": 2, "change": 5,
    }  # fmt: skip
    assert ORDERED["reaction"] == "change"
    # caught up from the changes shelf, the same event
    assert change_to_client(change_document(toggled())) == ("reaction", payload)
    seen = SeenLog()
    seen.read(toggled(change=5), 0, 0)
    assert seen.head("g", "change") == 5


def test_every_message_lists_its_reactions_and_says_what_it_answers() -> None:
    plain = slot_to_client("g", message_slot(saved(1)))
    assert plain["reactions"] == [] and plain["reply_to"] is None
    legacy = {k: v for k, v in message_slot(saved(1)).items() if k not in ("reactions", "reply_to")}
    assert slot_to_client("g", legacy)["reactions"] == [], "a slot from before reactions"
    reply = saved(2, "yes", ReplyTo(message_id="g:1", seq=1, sender_id="ann"))
    original = message_slot(saved(1, "shall we?"))
    ((_, _, live),) = client_events(reply, original)
    assert live["reply_to"] == {
        "message_id": "g:1", "seq": 1, "sender_id": "ann", "sender": "Ann",
        "snippet": "shall we?", "deleted": False,
    }  # fmt: skip
    assert slot_to_client("g", message_slot(reply), original) == live, "history gives the same"


class Views:
    """The pages as the node reads them, counting the reads."""

    def __init__(self, slots: dict[int, dict[str, Any]]) -> None:
        self.slots = slots
        self.reads = 0

    async def slots_at(self, group_id: str, seqs: Iterable[int]) -> dict[int, dict[str, Any]]:
        self.reads += 1
        return {seq: self.slots[seq] for seq in seqs if seq in self.slots}


async def test_a_live_quote_follows_the_log_and_reads_the_views_only_for_an_older_message() -> None:
    views = Views({1: message_slot(saved(1, "from the views"))})
    quotes = Quotes(views, size=2)  # type: ignore[arg-type]
    quotes.read(saved(2, "recent"))
    ref = ReplyTo(message_id="g:2", seq=2, sender_id="ann")
    assert await quotes.original("g", ref) == {"sender": "Ann", "body": "recent", "deleted": False}
    assert views.reads == 0, "a recent message is quoted without a read"
    quotes.read(MessageEdited(group_id="g", message_id="g:2", seq=2, body="edited", by_id="ann"))
    assert (await quotes.original("g", ref) or {})["body"] == "edited"
    quotes.read(MessageDeleted(group_id="g", message_id="g:2", seq=2, by_id="ann"))
    assert await quotes.original("g", ref) == {"sender": "Ann", "body": "", "deleted": True}

    older = ReplyTo(message_id="g:1", seq=1, sender_id="ann")
    assert (await quotes.original("g", older) or {})["body"] == "from the views"
    assert (await quotes.original("g", older) or {})["body"] == "from the views"
    assert views.reads == 1, "read once, then kept"
    quotes.read(saved(3))
    quotes.read(saved(4))
    assert len(quotes) == 2, "bounded"


async def test_a_change_read_before_the_message_takes_its_sender_from_the_views() -> None:
    views = Views({1: message_slot(saved(1, "old words"))})
    quotes = Quotes(views)  # type: ignore[arg-type]
    quotes.read(MessageEdited(group_id="g", message_id="g:1", seq=1, body="new", by_id="ann"))
    ref = ReplyTo(message_id="g:1", seq=1, sender_id="ann")
    assert await quotes.original("g", ref) == {"sender": "Ann", "body": "new", "deleted": False}
    assert await quotes.original("g", ReplyTo(message_id="g:9", seq=9, sender_id="x")) is None
