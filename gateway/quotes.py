"""What a live reply quotes: the message it answers as it is now, kept for recent messages.

A reply carries no words of its original (``records.facts.ReplyTo``); its quote is made from
the original as it is when the reply goes out (``records.views.quote``). This node reads every
fact of the log, so it keeps the current sender and first words of recent messages itself,
fed in log order: a save adds one, an edit changes its words, a delete marks it. A reply to a
message it does not hold reads the original's slot from the views (one read of one page);
nothing else on the message path waits for it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from gateway.readmodel import ReadModel
from records.facts import Fact, MessageDeleted, MessageEdited, MessageSaved, ReplyTo
from records.views import QUOTE_CHARS

DEFAULT_QUOTES = 5000
"""Recent messages remembered for quotes (a few hundred kilobytes at most)."""


@dataclass(slots=True)
class Quoted:
    """A message as a quote shows it. ``sender`` is None when only a change of it was read
    here (an edit or a delete of a message saved before this node started): the views
    give it on first use."""

    sender: str | None
    words: str
    deleted: bool

    def as_slot(self) -> dict[str, Any]:
        """The fields of a page slot ``records.views.quote`` reads."""
        return {"sender": self.sender or "", "body": self.words, "deleted": self.deleted}


class Quotes:
    """The current sender and first ``QUOTE_CHARS`` characters of the newest messages read in
    the log, by message id, the least recently used dropped past ``size``."""

    def __init__(self, reads: ReadModel, size: int = DEFAULT_QUOTES) -> None:
        self.reads = reads
        self.size = size
        self._recent: OrderedDict[str, Quoted] = OrderedDict()

    def __len__(self) -> int:
        return len(self._recent)

    def read(self, fact: Fact) -> None:
        """A fact this node read in the log: only saves, edits and deletes change a quote."""
        if isinstance(fact, MessageSaved):
            deleted = fact.erased  # its key is gone: the message was deleted since
            words = "" if deleted else fact.body[:QUOTE_CHARS]
            self._keep(fact.message_id, Quoted(fact.sender, words, deleted))
        elif isinstance(fact, MessageEdited):
            known = self._recent.get(fact.message_id)
            if known is None:
                self._keep(fact.message_id, Quoted(None, fact.body[:QUOTE_CHARS], False))
            elif not known.deleted:
                known.words = "" if fact.erased else fact.body[:QUOTE_CHARS]
        elif isinstance(fact, MessageDeleted):
            known = self._recent.get(fact.message_id)
            if known is None:
                self._keep(fact.message_id, Quoted(None, "", True))
            else:
                known.words, known.deleted = "", True

    async def original(self, group_id: str, reply_to: ReplyTo) -> dict[str, Any] | None:
        """The message ``reply_to`` names as it is now, as ``records.views.quote`` reads it
        (None: neither read here nor in the views)."""
        known = self._recent.get(reply_to.message_id)
        if known is not None and known.sender is not None:
            self._recent.move_to_end(reply_to.message_id)
            return known.as_slot()
        slot = (await self.reads.slots_at(group_id, [reply_to.seq])).get(reply_to.seq)
        if slot is None:
            return known.as_slot() if known is not None else None
        if known is None:
            # What the views hold; the log's later changes of it come through ``read``.
            deleted = bool(slot.get("deleted"))
            words = "" if deleted else str(slot.get("body", ""))[:QUOTE_CHARS]
            known = Quoted(str(slot["sender"]), words, deleted)
            self._keep(reply_to.message_id, known)
        else:
            known.sender = str(slot["sender"])  # the words read here are newer than the view
        return known.as_slot()

    def _keep(self, message_id: str, quoted: Quoted) -> None:
        self._recent[message_id] = quoted
        self._recent.move_to_end(message_id)
        while len(self._recent) > self.size:
            self._recent.popitem(last=False)
