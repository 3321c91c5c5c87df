"""The messages' views: pages of slots (``pages.<group>.<shelf>``) and the changes beside
them (``changes.<group>.<shelf>``), with the counts each message and change moves
(``agents.unread``).

Saved messages are written in bulk, several groups at once; an edit, a delete or a reaction
rewrites its message's slot where it is and is kept, by its change number, for clients that
were away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from agents.unread import UnreadCounts
from records.facts import MessageDeleted, MessageEdited, MessageSaved, ReactionToggled
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
"""Groups whose new messages are written at once: a round's writes are two round trips a
group (its pages, its counts), and one after the other they made a round of 100 busy groups
take seconds while MongoDB had cores to spare."""


class MessagePages:
    """The pages and changes of the groups of one database."""

    def __init__(self, database: AsyncDatabase[dict[str, Any]], unread: UnreadCounts) -> None:
        self.database = database
        self.unread = unread

    async def record(self, saved: Sequence[MessageSaved]) -> None:
        """Write saved messages into their pages, and their groups' ``last_seq``: several
        groups at once (``GROUPS_IN_FLIGHT``), each group's pages before its counts."""
        by_group: dict[str, list[MessageSaved]] = {}
        for fact in saved:
            by_group.setdefault(fact.group_id, []).append(fact)
        turns = asyncio.Semaphore(GROUPS_IN_FLIGHT)

        async def in_turn(facts: list[MessageSaved]) -> None:
            async with turns:
                await self._record_group(facts)

        # Every group's writes end before a failure is raised: the caller applies the batch
        # again (idempotent), and no write of this attempt lands after that.
        outcomes = await asyncio.gather(
            *(in_turn(facts) for facts in by_group.values()), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

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
            await self._record_change(fact)

    async def delete(self, fact: MessageDeleted) -> None:
        """A tombstone in the message's slot, the bodies of its edits erased, and the change
        kept."""
        await self._change_slot(fact, lambda slot: deleted_slot(slot, fact))
        # Before the delete is recorded: a reader that sees it sees the bodies gone.
        await self._erase_earlier_versions(fact)
        if fact.change:
            await self._record_change(fact)

    async def react(self, fact: ReactionToggled) -> None:
        """The message's slot with the reaction added or taken back, and the change kept.
        No count moves: a reaction is not a message, nor unread."""

        def reacted(slot: dict[str, Any]) -> dict[str, Any] | None:
            # Never onto a deleted message (projected again after its delete): a tombstone
            # has no reactions.
            return None if slot.get("deleted") else reacted_slot(slot, fact)

        await self._change_slot(fact, reacted)
        if fact.change:
            await self._record_change(fact)

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
        for _ in range(10):
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

    async def _record_change(self, fact: MessageEdited | MessageDeleted | ReactionToggled) -> None:
        """Keep the change where a client that was away finds it by position, by ``_id``.
        The body is written only with a new document: one erased by a delete stays erased."""
        document = change_document(fact)
        body = document.pop("body")
        await self.database[change_shelf(fact.group_id, fact.change)].update_one(
            {"_id": fact.change},
            {"$set": document, "$setOnInsert": {"body": body}},
            upsert=True,
        )
        await group_view(self.database, fact.group_id).update_one(
            {"_id": fact.group_id}, {"$max": {"last_change": fact.change}}
        )

    async def _erase_earlier_versions(self, fact: MessageDeleted) -> None:
        """A delete erases the bodies of the message's edits too, on every shelf of changes
        up to this one."""
        for shelf in range((fact.change - 1) // CHANGES_PER_SHELF + 1):
            first_change = shelf * CHANGES_PER_SHELF + 1
            await self.database[change_shelf(fact.group_id, first_change)].update_many(
                {"message_id": fact.message_id, "deleted": False},
                {"$set": {"body": "", "erased": True}},
            )
