"""The messages' views: pages of slots (``pages.<group>.<shelf>``) and the changes beside
them (``changes.<group>.<shelf>``), with the counts each message and change moves
(``agents.unread``).

Saved messages and reactions are written in bulk, several groups at once; an edit, a delete
or a reaction rewrites its message's slot where it is and is kept, by its change number, for
clients that were away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from agents.unread import UnreadCounts
from records.facts import GroupFact, MessageDeleted, MessageEdited, MessageSaved, ReactionToggled
from records.views import (
    CHANGES_PER_SHELF,
    change_document,
    change_shelf,
    deleted_slot,
    edited_slot,
    group_view,
    message_slot,
    page_of,
    page_shelf,
    reacted_slot,
    read_slot,
    slot_of,
    slot_value,
)

GROUPS_IN_FLIGHT = 8
"""Groups whose new messages (or reactions) are written at once: a round's writes are two
round trips a group (its pages, its counts), and one after the other they made a round of 100
busy groups take seconds while MongoDB had cores to spare."""

DUPLICATE_KEY = 11000
"""MongoDB's code for an ``_id`` that is there already."""

SLOT_ATTEMPTS = 10
"""Reads of a page before giving up on a slot that keeps changing under this projector."""

F = TypeVar("F", bound=GroupFact)


async def in_groups(facts: Sequence[F], write: Callable[[list[F]], Awaitable[None]]) -> None:
    """``write`` each group's facts (in log order), several groups at once
    (``GROUPS_IN_FLIGHT``). Every group's writes end before a failure is raised: the caller
    applies the batch again (idempotent), and no write of this attempt lands after that."""
    by_group: dict[str, list[F]] = {}
    for fact in facts:
        by_group.setdefault(fact.group_id, []).append(fact)
    turns = asyncio.Semaphore(GROUPS_IN_FLIGHT)

    async def in_turn(group_facts: list[F]) -> None:
        async with turns:
            await write(group_facts)

    outcomes = await asyncio.gather(
        *(in_turn(group_facts) for group_facts in by_group.values()), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


class MessagePages:
    """The pages and changes of the groups of one database."""

    def __init__(self, database: AsyncDatabase[dict[str, Any]], unread: UnreadCounts) -> None:
        self.database = database
        self.unread = unread

    async def record(self, saved: Sequence[MessageSaved]) -> None:
        """Write saved messages into their pages, and their groups' ``last_seq``: several
        groups at once (``GROUPS_IN_FLIGHT``), each group's pages before its counts."""
        await in_groups(saved, self._record_group)

    async def _record_group(self, saved: list[MessageSaved]) -> None:
        group_id = saved[0].group_id
        shelves: dict[str, dict[int, dict[str, Any]]] = {}
        for fact in saved:
            page = page_of(fact.seq)
            fields = shelves.setdefault(page_shelf(group_id, page), {}).setdefault(page, {})
            fields[f"m.{slot_of(fact.seq)}"] = slot_value(message_slot(fact))
        for shelf, pages in shelves.items():
            await self.database[shelf].bulk_write(
                [
                    UpdateOne({"_id": page}, {"$set": fields}, upsert=True)
                    for page, fields in pages.items()
                ],
                ordered=False,
            )
        await self.unread.count(group_id, saved)

    async def edit(self, fact: MessageEdited) -> None:
        """The message's slot with the new body, and the change kept."""

        def edited(slot: dict[str, Any]) -> dict[str, Any] | None:
            # Never onto a deleted message: an edit applied again after its delete (a
            # stretch of the log projected twice) must not bring the body back.
            return None if slot.get("deleted") else edited_slot(slot, fact)

        await self._change_slot(fact, edited)
        if fact.change:
            await self._record_changes(fact.group_id, [fact])

    async def delete(self, fact: MessageDeleted) -> None:
        """A tombstone in the message's slot, the bodies of its edits erased, and the change
        kept."""
        await self._change_slot(fact, lambda slot: deleted_slot(slot, fact))
        # Before the delete is recorded: a reader that sees it sees the bodies gone.
        await self._erase_earlier_versions(fact)
        if fact.change:
            await self._record_changes(fact.group_id, [fact])

    async def react(self, fact: ReactionToggled) -> None:
        """One reaction, as ``react_all`` writes a run of them."""
        await self.react_all([fact])

    async def react_all(self, reactions: Sequence[ReactionToggled]) -> None:
        """Reactions into their messages' slots, and their changes kept, as ``react`` one by
        one would leave them: each page read and written once, each shelf of changes written
        once, ``last_change`` moved once a group; several groups at once, each group's slots
        before its changes before its ``last_change``. The messages reacted to must be
        written already (they are earlier in the log). No count moves: a reaction is not a
        message, nor unread. One by one, a reaction cost four round trips, and a burst of
        them left the views a minute behind the log."""
        await in_groups(reactions, self._react_group)

    async def _react_group(self, reactions: list[ReactionToggled]) -> None:
        group_id = reactions[0].group_id
        pages: dict[int, list[ReactionToggled]] = {}
        for fact in reactions:
            pages.setdefault(page_of(fact.seq), []).append(fact)
        for page, on_page in pages.items():
            await self._react_page(group_id, page, on_page)
        # A change is kept even when its slot is not (deleted, or not projected).
        if changes := [fact for fact in reactions if fact.change]:
            await self._record_changes(group_id, changes)

    async def _react_page(self, group_id: str, page: int, reactions: list[ReactionToggled]) -> None:
        """Every reaction of one page onto its slots in log order, in memory, then one
        write conditional on every slot it changes being as read (as ``_change_slot``)."""
        pages = self.database[page_shelf(group_id, page)]
        slots = {slot_of(fact.seq) for fact in reactions}
        for _ in range(SLOT_ATTEMPTS):
            doc = await pages.find_one({"_id": page}, {f"m.{slot}": 1 for slot in slots})
            stored: dict[str, Any] = (doc or {}).get("m", {})
            now: dict[str, dict[str, Any]] = {}
            for fact in reactions:
                slot = slot_of(fact.seq)
                if slot not in now:
                    if stored.get(slot) is None:
                        continue  # not projected: nothing to change (a log that starts after it)
                    now[slot] = read_slot(stored[slot])
                # Never onto a deleted message (projected again after its delete): a tombstone
                # has no reactions.
                if not now[slot].get("deleted"):
                    now[slot] = reacted_slot(now[slot], fact)
            written = {slot: slot_value(value) for slot, value in now.items()}
            changed = {slot: value for slot, value in written.items() if value != stored[slot]}
            if not changed:
                return  # (a stretch projected again)
            result = await pages.update_one(
                {"_id": page, **{f"m.{slot}": stored[slot] for slot in changed}},
                {"$set": {f"m.{slot}": value for slot, value in changed.items()}},
            )
            if result.matched_count:
                return
        raise RuntimeError(f"page {page} of {group_id} keeps changing under this projector")

    async def _change_slot(
        self,
        fact: MessageEdited | MessageDeleted | ReactionToggled,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> None:
        """Take the change out of the counts, then rewrite the message's slot as ``change``
        makes it (None: leave it). The write is conditional on the slot being as read, so a
        change another projector of the partition wrote meanwhile (briefly, while the
        partition moves) is read again and not overwritten."""
        pages = self.database[page_shelf(fact.group_id, page_of(fact.seq))]
        page, key = page_of(fact.seq), f"m.{slot_of(fact.seq)}"
        uncounted = False
        for _ in range(SLOT_ATTEMPTS):
            doc = await pages.find_one({"_id": page}, {key: 1})
            stored = (doc or {}).get("m", {}).get(slot_of(fact.seq))
            if stored is None:
                return  # not projected: nothing to change (a log that starts after it)
            slot = read_slot(stored)
            if not uncounted and not isinstance(fact, ReactionToggled):  # (it moves no count)
                await self.unread.uncount(fact, slot)
                uncounted = True
            changed = change(slot)
            if changed is None:
                return
            written = await pages.update_one(
                {"_id": page, key: stored}, {"$set": {key: slot_value(changed)}}
            )
            if written.matched_count:
                return
        raise RuntimeError(f"the slot of {fact.message_id} keeps changing under this projector")

    async def _record_changes(
        self, group_id: str, facts: Sequence[MessageEdited | MessageDeleted | ReactionToggled]
    ) -> None:
        """Keep a group's changes where a client that was away finds them by position, by
        ``_id``, one insert a shelf; then move its ``last_change`` to the highest.

        Inserted, never upserted: a change's document is a function of its fact, so one that
        is there already (a stretch projected again) is left as it is, its body erased by a
        delete included. FerretDB finds an ``_id`` to update by reading the collection: an
        upsert a change cost more the fuller its shelf, and at 500 reactions a second the
        views fell minutes behind the log."""
        shelves: dict[str, list[dict[str, Any]]] = {}
        for fact in facts:
            shelves.setdefault(change_shelf(group_id, fact.change), []).append(
                {"_id": fact.change, **change_document(fact)}
            )
        for shelf, documents in shelves.items():
            try:
                await self.database[shelf].insert_many(documents, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if not errors or any(error.get("code") != DUPLICATE_KEY for error in errors):
                    raise
        await group_view(self.database, group_id).update_one(
            {"_id": group_id}, {"$max": {"last_change": max(fact.change for fact in facts)}}
        )

    async def _erase_earlier_versions(self, fact: MessageDeleted) -> None:
        """A delete erases the bodies of the message's edits too, on every shelf of changes
        up to this one. Only changes before it: projected again, it must not mark one that a
        log holds after it (a reaction, say) as erased."""
        for shelf in range((fact.change - 1) // CHANGES_PER_SHELF + 1):
            first_change = shelf * CHANGES_PER_SHELF + 1
            await self.database[change_shelf(fact.group_id, first_change)].update_many(
                {"_id": {"$lt": fact.change}, "message_id": fact.message_id, "deleted": False},
                {"$set": {"body": "", "erased": True}},
            )
