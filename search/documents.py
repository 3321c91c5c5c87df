"""The index's documents: one per message, as it is now, folded from the log's facts.

A message's document is keyed by its id and placed at a rowid that sorts by ``saved_at``
(``rowid_base``): newest-first is then the engine's own rowid order, a day filter a rowid
range, and both are the same after a rebuild, whatever order the partitions are read in. A
deleted message keeps a document without a body (a tombstone: ids, group, sender, times, as
the log keeps them in clear), so a stretch of the log applied again cannot index it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import assert_never

from records.facts import (
    DirectOpened,
    Fact,
    GroupCreated,
    InvitationDeclined,
    InvitationRevoked,
    MemberInvited,
    MemberJoined,
    MemberLeft,
    MemberRemoved,
    MessageDeleted,
    MessageEdited,
    MessageSaved,
    ReactionToggled,
    ReadMarked,
    UserBlocked,
    UserUnblocked,
)
from search.highlights import indexed_text

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ROWID_SLOTS_BITS = 10
"""Rowids a millisecond: 1,024 messages saved in the same one keep their order."""


def millis(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(milliseconds=1)


def moment(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def rowid_base(ms: int) -> int:
    """The first rowid of a millisecond: rowids sort as the times they are placed at."""
    return ms << ROWID_SLOTS_BITS


def scope_tokens(group_id: str, sender_id: str) -> str:
    """The ``scope`` column: a token for the group and one for the sender (hex, so the
    tokenizer keeps each whole), that let the engine itself keep only the caller's groups."""
    return f"{group_token(group_id)} {sender_token(sender_id)}"


def group_token(group_id: str) -> str:
    return "g" + group_id.encode().hex()


def sender_token(sender_id: str) -> str:
    return "u" + sender_id.encode().hex()


@dataclass(frozen=True)
class Document:
    rowid: int
    message_id: str
    group_id: str
    seq: int
    sender_id: str
    sender: str
    saved_at: int
    """Milliseconds since the epoch, UTC."""
    edited_at: int | None
    change: int
    """The last edit or delete applied (``MessageEdited.change``)."""
    body: str | None
    """None: the message is deleted."""

    @property
    def text(self) -> str | None:
        """What the engine indexes of the body (``search.highlights``), None if nothing."""
        return indexed_text(self.body) if self.body else None

    @property
    def scope(self) -> str:
        return scope_tokens(self.group_id, self.sender_id)


Stored = Callable[[str], Document | None]
"""The document stored for a message id, if any."""
Place = Callable[[int, set[int]], int]
"""A free rowid from a base, none of those given (placed already this round)."""


class Round:
    """One round of facts folded into the documents they change, each as it was stored and
    as it ends: what the index writes in one transaction. Folding is idempotent: a fact
    already applied (a message saved that has a document, an edit not newer than the
    document's last change, a delete of a tombstone) changes nothing."""

    def __init__(self, stored: Stored, place: Place) -> None:
        self._stored = stored
        self._place = place
        self._before: dict[str, Document | None] = {}
        self._after: dict[str, Document] = {}
        self._placed: set[int] = set()

    def changes(self) -> list[tuple[Document | None, Document]]:
        """Each document changed, as stored before the round and as the round leaves it."""
        return [
            (self._before[mid], doc) for mid, doc in self._after.items() if doc != self._before[mid]
        ]

    def add(self, fact: Fact) -> None:
        match fact:
            case MessageSaved():
                self._saved(fact)
            case MessageEdited():
                self._edited(fact)
            case MessageDeleted():
                self._deleted(fact)
            case (
                GroupCreated()
                | MemberInvited()
                | MemberJoined()
                | MemberLeft()
                | MemberRemoved()
                | InvitationDeclined()
                | InvitationRevoked()
                | ReadMarked()
            ):
                pass  # not indexed: who may read a group is the gateway's, asked each search
            case ReactionToggled():
                pass  # not indexed: a reaction changes nothing a search matches or shows
            case DirectOpened() | UserBlocked() | UserUnblocked():
                # Not indexed: who talks with or blocks whom is no search's to match (the
                # conversation's messages are indexed as any group's).
                pass
            case _:
                assert_never(fact)

    def _current(self, message_id: str) -> Document | None:
        if message_id in self._after:
            return self._after[message_id]
        if message_id not in self._before:
            self._before[message_id] = self._stored(message_id)
        return self._before[message_id]

    def _saved(self, fact: MessageSaved) -> None:
        if fact.erased or not fact.body or self._current(fact.message_id) is not None:
            return  # erased: its key is gone, so it was deleted (its delete comes later)
        ms = millis(fact.saved_at)
        rowid = self._place(rowid_base(ms), self._placed)
        self._placed.add(rowid)
        self._after[fact.message_id] = Document(
            rowid=rowid,
            message_id=fact.message_id,
            group_id=fact.group_id,
            seq=fact.seq,
            sender_id=fact.sender_id,
            sender=fact.sender,
            saved_at=ms,
            edited_at=None,
            change=0,
            body=fact.body,
        )

    def _edited(self, fact: MessageEdited) -> None:
        doc = self._current(fact.message_id)
        if doc is None or doc.body is None or fact.erased:
            return  # unknown, deleted, or its key gone (the delete comes later)
        if fact.change and fact.change <= doc.change:
            return  # applied already (edits from before changes were numbered apply in order)
        self._after[fact.message_id] = replace(
            doc, body=fact.body, edited_at=millis(fact.occurred_at), change=fact.change
        )

    def _deleted(self, fact: MessageDeleted) -> None:
        doc = self._current(fact.message_id)
        if doc is None or doc.body is None:
            return  # never indexed (erased before it was read) or deleted already
        self._after[fact.message_id] = replace(doc, body=None, change=max(doc.change, fact.change))
