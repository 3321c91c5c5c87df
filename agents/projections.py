"""Writing the MongoDB views (``records.views``) from the group-events log.

Every write is a function of the facts alone and idempotent, so applying a stretch of the log
twice (a projector restarted before it recorded its position) changes nothing, and the live
projector and a replay build identical documents. Runs of saved messages are written in bulk.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from records.facts import (
    Fact,
    GroupCreated,
    InvitationDeclined,
    InvitationRevoked,
    MemberInvited,
    MemberJoined,
    MemberLeft,
    MemberRemoved,
    MembershipFact,
    MessageDeleted,
    MessageEdited,
    MessageSaved,
    ReadMarked,
)
from records.views import (
    CHANGES_PER_SHELF,
    POSITIONS,
    PUBLIC_GROUPS,
    change_document,
    change_shelf,
    group_view,
    is_view,
    iso,
    message_slot,
    name_words,
    page_of,
    page_shelf,
    position_id,
    read_slot,
    slot_of,
    slot_value,
    slots_between,
    user_view,
)

REMEMBERED_GROUPS = 10_000
"""Groups whose members' markers the projector keeps in memory (the busiest, newest kept)."""

GROUPS_IN_FLIGHT = 8
"""Groups whose new messages are written at once: a round's writes are two round trips a
group (its pages, its counts), and one after the other they made a round of 100 busy groups
take seconds while MongoDB had cores to spare."""


class Projector:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.database = database
        self._readers: OrderedDict[str, tuple[int | None, dict[str, int]]] = OrderedDict()
        """Group id → its ``counted_seq`` and each member's marker, as this projector last
        wrote them: counting a round of messages then needs no read of the group. Dropped
        for a group by any fact but a saved message, and for all by ``forget``."""
        self.positions = database[POSITIONS]
        self.public_groups = database[PUBLIC_GROUPS]

    def group_view(self, group_id: str) -> AsyncCollection[dict[str, Any]]:
        return group_view(self.database, group_id)

    def user_view(self, user_id: str) -> AsyncCollection[dict[str, Any]]:
        return user_view(self.database, user_id)

    async def create_indexes(self) -> None:
        await self.public_groups.create_index("words", name="words")

    async def drop(self) -> None:
        for name in await self.database.list_collection_names():
            if is_view(name):
                await self.database.drop_collection(name)

    async def positions_of(
        self, partitions: Iterable[int]
    ) -> tuple[dict[int, int], dict[int, int]]:
        """The next offset to apply of each partition that has a recorded position, and of
        the keys partition beside it (``records.sealing``) where one is recorded."""
        wanted = {position_id(p): p for p in partitions}
        found: dict[int, int] = {}
        keys: dict[int, int] = {}
        async for doc in self.positions.find({}):
            if doc["_id"] in wanted:
                found[wanted[doc["_id"]]] = int(doc["offset"])
                if doc.get("keys") is not None:
                    keys[wanted[doc["_id"]]] = int(doc["keys"])
        return found, keys

    async def record_position(self, partition: int, offset: int, keys: int | None = None) -> None:
        """Record that the log of ``partition`` is applied up to ``offset`` (exclusive), and
        its keys read up to ``keys``."""
        moved = {"offset": offset} | ({"keys": keys} if keys is not None else {})
        await self.positions.update_one(
            {"_id": position_id(partition)}, {"$max": moved}, upsert=True
        )

    async def apply(self, facts: Sequence[Fact]) -> None:
        """Project facts in order; runs of saved messages are written in bulk, and the read
        markers of the batch last, one recount per group for all its readers.

        A marker is a recount from scratch (see ``_recount``), so moving it to the end of
        the batch changes no count the batch ends with; the counts written on the way for
        the messages before it are corrected by it. Applied one by one, markers cost a
        group's document read twice and written once each: under a burst of reading, the
        views fell seconds behind the log."""
        run: list[MessageSaved] = []
        markers: dict[str, dict[str, int]] = {}
        """Group id → reader → the highest seq they marked in this batch."""
        for fact in facts:
            if isinstance(fact, MessageSaved):
                run.append(fact)
                continue
            if isinstance(fact, ReadMarked):
                readers = markers.setdefault(fact.group_id, {})
                readers[fact.user_id] = max(readers.get(fact.user_id, 0), fact.seq)
                continue
            if run:
                await self.record_messages(run)
                run = []
            self._readers.pop(fact.group_id, None)  # its members or markers may change
            await self._apply_one(fact)
        if run:
            await self.record_messages(run)
        for group_id, readers in markers.items():
            self._readers.pop(group_id, None)
            await self._recount(group_id, readers)

    async def record_messages(self, saved: Sequence[MessageSaved]) -> None:
        """Write saved messages into their pages, and their groups' ``last_seq``: several
        groups at once (``GROUPS_IN_FLIGHT``), each group's pages before its counts."""
        by_group: dict[str, list[MessageSaved]] = {}
        for fact in saved:
            by_group.setdefault(fact.group_id, []).append(fact)
        turns = asyncio.Semaphore(GROUPS_IN_FLIGHT)

        async def in_turn(facts: list[MessageSaved]) -> None:
            async with turns:
                await self._record_group_messages(facts)

        # Every group's writes end before a failure is raised: the caller applies the batch
        # again (idempotent), and no write of this attempt lands after that.
        outcomes = await asyncio.gather(
            *(in_turn(facts) for facts in by_group.values()), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _record_group_messages(self, saved: list[MessageSaved]) -> None:
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
        await self._count_unread(group_id, saved)

    def forget(self) -> None:
        """Drop what is remembered of the groups: another projector may have written them
        (a partition that moved between workers)."""
        self._readers.clear()

    async def _count_unread(self, group_id: str, saved: Sequence[MessageSaved]) -> None:
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

    async def _recount(self, group_id: str, markers: dict[str, int]) -> None:
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

    async def _uncount(
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

    async def _slot(self, group_id: str, seq: int) -> dict[str, Any] | None:
        async for slot in slots_between(self.database, group_id, seq, seq):
            return slot
        return None

    async def _change_slot(
        self,
        fact: MessageEdited | MessageDeleted,
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
            if not uncounted:
                await self._uncount(fact, slot)
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

    async def _apply_one(self, fact: Fact) -> None:
        group = {"_id": fact.group_id}
        match fact:
            case GroupCreated():
                # A person's own documents first, the group's (with its version) last: a reader
                # that sees the version sees everything the fact wrote.
                await self._link(fact.owner_id, fact.group_id, fact.occurred_at)
                owner = {
                    "username": fact.owner, "role": "owner", "joined_at": fact.occurred_at,
                    "last_read_seq": 0, "unread": 0, "mentions": 0,
                }  # fmt: skip
                await self.group_view(fact.group_id).update_one(
                    group,
                    {
                        "$setOnInsert": {
                            "name": fact.name,
                            "private": fact.private,
                            "owner_id": fact.owner_id,
                            "owner": fact.owner,
                            "created_at": fact.occurred_at,
                            "last_seq": 0,
                            "last_change": 0,
                            "counted_seq": 0,
                            "counted_change": 0,
                            "version": fact.version,
                            "members": {fact.owner_id: owner},
                            "invited": {},
                        }
                    },
                    upsert=True,
                )
                if not fact.private:
                    words = name_words(fact.name)
                    await self.public_groups.update_one(
                        group, {"$set": {"name": fact.name, "words": words}}, upsert=True
                    )
            case MemberInvited():
                pending = {
                    "name": fact.group_name,
                    "by_id": fact.by_id,
                    "by": fact.by,
                    "at": fact.occurred_at,
                }
                await self.user_view(fact.user_id).update_one(
                    {"_id": fact.user_id},
                    {"$set": {f"invited.{fact.group_id}": pending}},
                    upsert=True,
                )
                invitation = {
                    "username": fact.username,
                    "by_id": fact.by_id,
                    "at": fact.occurred_at,
                }
                await self.group_view(fact.group_id).update_one(
                    group,
                    {"$set": {f"invited.{fact.user_id}": invitation}, **_version(fact)},
                )
            case MemberJoined():
                await self._link(fact.user_id, fact.group_id, fact.occurred_at)
                member = {
                    "username": fact.username,
                    "role": "member",
                    "joined_at": fact.occurred_at,
                    "last_read_seq": fact.read_seq,  # a newcomer has nothing unread
                    "unread": 0,
                    "mentions": 0,
                }
                await self.group_view(fact.group_id).update_one(
                    group,
                    {
                        "$set": {f"members.{fact.user_id}": member},
                        "$unset": {f"invited.{fact.user_id}": ""},
                        **_version(fact),
                    },
                )
                # Projected again (a stretch of the log replayed), the messages after the join
                # are behind ``counted_seq`` and would not be counted again: recount them.
                await self._recount(fact.group_id, {fact.user_id: fact.read_seq})
            case MemberLeft() | MemberRemoved():
                await self.user_view(fact.user_id).update_one(
                    {"_id": fact.user_id}, {"$unset": {f"groups.{fact.group_id}": ""}}
                )
                await self.group_view(fact.group_id).update_one(
                    group, {"$unset": {f"members.{fact.user_id}": ""}, **_version(fact)}
                )
            case InvitationDeclined() | InvitationRevoked():
                await self.user_view(fact.user_id).update_one(
                    {"_id": fact.user_id}, {"$unset": {f"invited.{fact.group_id}": ""}}
                )
                await self.group_view(fact.group_id).update_one(
                    group, {"$unset": {f"invited.{fact.user_id}": ""}, **_version(fact)}
                )
            case ReadMarked():
                await self._recount(fact.group_id, {fact.user_id: fact.seq})
            case MessageEdited():
                # Never onto a deleted message: an edit applied again after its delete (a
                # stretch of the log projected twice) must not bring the body back.
                await self._change_slot(
                    fact,
                    lambda slot, f=fact: None if slot.get("deleted") else slot | {
                        "body": f.body, "edited_at": iso(f.occurred_at), "mentions": f.mentions,
                    },
                )  # fmt: skip
            case MessageDeleted():
                await self._change_slot(
                    fact,
                    lambda slot, f=fact: slot | {
                        "body": "", "deleted": True, "deleted_at": iso(f.occurred_at),
                    },
                )  # fmt: skip
        if isinstance(fact, MessageDeleted):
            # Before the delete is recorded: a reader that sees it sees the bodies gone.
            await self._erase_earlier_versions(fact)
        if isinstance(fact, MessageEdited | MessageDeleted) and fact.change:
            await self._record_change(fact)

    async def _record_change(self, fact: MessageEdited | MessageDeleted) -> None:
        """Keep the change where a client that was away finds it by position, by ``_id``.
        The body is written only with a new document: one erased by a delete stays erased."""
        document = change_document(fact)
        body = document.pop("body")
        await self.database[change_shelf(fact.group_id, fact.change)].update_one(
            {"_id": fact.change},
            {"$set": document, "$setOnInsert": {"body": body}},
            upsert=True,
        )
        await self.group_view(fact.group_id).update_one(
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

    async def _link(self, user_id: str, group_id: str, at: datetime) -> None:
        await self.user_view(user_id).update_one(
            {"_id": user_id},
            {
                "$set": {f"groups.{group_id}": {"joined_at": at}},
                "$unset": {f"invited.{group_id}": ""},
            },
            upsert=True,
        )


def _version(fact: MembershipFact) -> dict[str, Any]:
    """The group's membership version moves forward only, however often a fact is applied."""
    return {"$max": {"version": fact.version}}
