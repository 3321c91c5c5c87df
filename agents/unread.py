"""Each member's ``unread`` and ``mentions`` in their group's document, kept as the facts come,
so that listing groups reads counts and never scans messages.

Every count is idempotent: new messages are counted once (``counted_seq``), an edit or a
delete once (``counted_change``), and a marker moving is a recount from scratch, so a stretch
of the log projected twice leaves the counts it left the first time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from records.facts import MessageDeleted, MessageEdited, MessageSaved
from records.views import group_view, slots_between

REMEMBERED_GROUPS = 10_000
"""Groups whose members' markers the projector keeps in memory (the busiest, newest kept)."""


class UnreadCounts:
    """The counts of the groups of one database, with the markers last written remembered."""

    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.database = database
        self._readers: OrderedDict[str, tuple[int | None, dict[str, int]]] = OrderedDict()
        """Group id → its ``counted_seq`` and each member's marker, as this projector last
        wrote them: counting a round of messages then needs no read of the group. Dropped
        for a group by any fact but a saved message (``forget_group``), and for all by
        ``forget``."""

    def group_view(self, group_id: str) -> AsyncCollection[dict[str, Any]]:
        return group_view(self.database, group_id)

    def forget(self) -> None:
        """Drop what is remembered of the groups: another projector may have written them
        (a partition that moved between workers)."""
        self._readers.clear()

    def forget_group(self, group_id: str) -> None:
        """Drop what is remembered of a group whose members or markers may change."""
        self._readers.pop(group_id, None)

    async def count(self, group_id: str, saved: Sequence[MessageSaved]) -> None:
        """Add the new messages to each member's ``unread`` and ``mentions`` (those behind
        their marker, not their own), and move ``last_seq``. ``counted_seq`` makes it
        idempotent: a message is counted once, however often its stretch of the log is
        projected."""
        newest = max(fact.seq for fact in saved)
        if (known := self._readers.get(group_id)) is not None:
            counted, readers = known
            self._readers.move_to_end(group_id)
        else:
            doc = await self.group_view(group_id).find_one(
                {"_id": group_id}, {"members": 1, "counted_seq": 1}
            )
            if doc is None:
                return
            counted = doc.get("counted_seq")
            readers = {
                user_id: int(member.get("last_read_seq", 0))
                for user_id, member in doc.get("members", {}).items()
            }
        increments: dict[str, int] = {}
        for fact in saved:
            if counted is not None and fact.seq <= counted:
                continue
            for user_id, marker in readers.items():
                if user_id == fact.sender_id or marker >= fact.seq:
                    continue
                key = f"members.{user_id}.unread"
                increments[key] = increments.get(key, 0) + 1
                if user_id in fact.mentions:
                    key = f"members.{user_id}.mentions"
                    increments[key] = increments.get(key, 0) + 1
        guard = {"counted_seq": counted}  # (None: a view from before counts were kept)
        update: dict[str, Any] = {"$max": {"last_seq": newest, "counted_seq": newest}}
        if increments:
            update["$inc"] = increments
        result = await self.group_view(group_id).update_one({"_id": group_id, **guard}, update)
        if result.matched_count == 0:
            # Another writer got there first (a projector of the same partition, briefly):
            # its update counted these messages; ``last_seq`` still moves.
            self._readers.pop(group_id, None)
            await self.group_view(group_id).update_one(
                {"_id": group_id}, {"$max": {"last_seq": newest}}
            )
            return
        self._readers[group_id] = (max(counted or 0, newest), readers)
        while len(self._readers) > REMEMBERED_GROUPS:
            self._readers.popitem(last=False)

    async def recount(self, group_id: str, markers: dict[str, int]) -> None:
        """Move each member's marker to the seq given (never back: a higher one is kept) and
        count what is after it: the unread messages (not theirs, not deleted) and those that
        mention them. A recount, so idempotent; one read of the group, one of the pages
        after the lowest marker (none when all have read to the end), one write."""
        doc = await self.group_view(group_id).find_one(
            {"_id": group_id}, {"members": 1, "counted_seq": 1}
        )
        members = (doc or {}).get("members", {})
        moved = {
            user_id: max(int(members[user_id].get("last_read_seq", 0)), seq)
            for user_id, seq in markers.items()
            if user_id in members
        }
        if doc is None or not moved:
            return
        counted = int(doc.get("counted_seq") or 0)
        first = min(moved.values()) + 1
        after = [
            slot
            async for slot in slots_between(self.database, group_id, first, counted)
            if not slot.get("deleted")
        ]
        update: dict[str, Any] = {}
        for user_id, marker in moved.items():
            unread = mentions = 0
            for slot in after:
                if int(slot["seq"]) > marker and slot.get("sender_id") != user_id:
                    unread += 1
                    mentions += user_id in slot.get("mentions", [])
            prefix = f"members.{user_id}"
            update |= {f"{prefix}.last_read_seq": marker, f"{prefix}.unread": unread,
                       f"{prefix}.mentions": mentions}  # fmt: skip
        await self.group_view(group_id).update_one({"_id": group_id}, {"$set": update})

    async def uncount(
        self, fact: MessageEdited | MessageDeleted, slot: dict[str, Any] | None
    ) -> None:
        """A delete takes the message out of the counts of those who had it unread; an edit
        moves the mention counts to the members its new body names. ``counted_change`` makes
        it idempotent."""
        doc = await self.group_view(fact.group_id).find_one(
            {"_id": fact.group_id}, {"members": 1, "counted_change": 1}
        )
        if doc is None or slot is None or slot.get("deleted"):
            return
        counted = doc.get("counted_change")
        if counted is not None and fact.change <= counted:
            return
        before = set(slot.get("mentions", []))
        after = set() if isinstance(fact, MessageDeleted) else set(fact.mentions)
        increments: dict[str, int] = {}
        for user_id, member in doc.get("members", {}).items():
            if user_id == slot.get("sender_id") or member.get("last_read_seq", 0) >= fact.seq:
                continue
            # Never below zero: a member whose counts predate them (views made before counts
            # were kept) had nothing counted to take away.
            if isinstance(fact, MessageDeleted) and int(member.get("unread", 0)) > 0:
                increments[f"members.{user_id}.unread"] = -1
            delta = (user_id in after) - (user_id in before)
            if delta > 0 or (delta < 0 and int(member.get("mentions", 0)) > 0):
                increments[f"members.{user_id}.mentions"] = delta
        guard = {"counted_change": counted}
        update: dict[str, Any] = {"$max": {"counted_change": fact.change}}
        if increments:
            update["$inc"] = increments
        await self.group_view(fact.group_id).update_one({"_id": fact.group_id, **guard}, update)
