"""MongoDB projections of the group-events log. Every write here is a function of the facts
alone, and idempotent, so the live agent and a replay from the log build identical documents.

- ``groups``: one document per group (``_id`` = group id) with its members and invitations
  keyed by user id, and ``last_seq``, the highest message position.
- ``user_groups``: one document per user (``_id`` = user id), their groups and pending
  invitations keyed by group id (maps, not lists, so the document does not depend on how
  partitions interleave).
- ``messages``: each saved message as it was first saved, ``_id`` = its dedupe key; the
  agent's idempotency record of submissions.
- ``message_pages``: messages as they are now (edited bodies, tombstones), 100 to a document
  (``_id`` = ``group:page``), so a page of history is one or two reads by ``_id`` on any
  MongoDB-protocol server: FerretDB on SQLite pushes only exact ``_id`` filters down.
- ``message_changes``: each edit or delete at its position in the group's changes
  (``_id`` = ``group:change``), so a client that was away reads what changed by ``_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from records.events import (
    Fact,
    GroupCreated,
    MemberInvited,
    MemberJoined,
    MemberLeft,
    MemberRemoved,
    MessageDeleted,
    MessageEdited,
    MessageSaved,
)

PAGE_SIZE = 100
PROJECTIONS = ("groups", "user_groups", "messages", "message_pages", "message_changes")
DUPLICATE_KEY = 11000


def page_of(seq: int) -> tuple[int, str]:
    """The page number of a position and the slot key inside that page."""
    return (seq - 1) // PAGE_SIZE, str((seq - 1) % PAGE_SIZE)


def page_id(group_id: str, page: int) -> str:
    return f"{group_id}:{page}"


def saved_document(fact: MessageSaved) -> dict[str, Any]:
    """The ``messages`` document of a saved message: the fact itself, keyed for dedupe."""
    return {"_id": fact.dedupe_key, **fact.model_dump(exclude={"type"})}


def message_view(fact: MessageSaved) -> dict[str, Any]:
    return {
        **fact.model_dump(exclude={"type", "group_id"}),
        "edited_at": None,
        "deleted": False,
        "deleted_at": None,
    }


class Projector:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.database = database
        self.groups = database["groups"]
        self.user_groups = database["user_groups"]
        self.messages = database["messages"]
        self.pages = database["message_pages"]
        self.changes = database["message_changes"]

    async def ensure_indexes(self) -> None:
        await self.messages.create_index(
            [("group_id", ASCENDING), ("seq", ASCENDING)], unique=True, name="group_seq"
        )

    async def drop(self) -> None:
        for name in PROJECTIONS:
            await self.database.drop_collection(name)

    async def apply(self, facts: Sequence[Fact]) -> None:
        """Project facts in order; runs of saved messages are written in bulk."""
        run: list[MessageSaved] = []
        for fact in facts:
            if isinstance(fact, MessageSaved):
                run.append(fact)
                continue
            if run:
                await self.record_messages(run, stored=False)
                run = []
            await self._apply_one(fact)
        if run:
            await self.record_messages(run, stored=False)

    async def record_messages(self, saved: Iterable[MessageSaved], *, stored: bool) -> None:
        """Write saved messages to the ``messages`` record (unless ``stored`` already), their
        pages and their groups' ``last_seq``."""
        saved = list(saved)
        if not saved:
            return
        if not stored:
            await self._insert_ignoring_duplicates([saved_document(f) for f in saved])
        slots: dict[str, dict[str, Any]] = {}
        last_seq: dict[str, int] = {}
        for fact in saved:
            page, slot = page_of(fact.seq)
            key = page_id(fact.group_id, page)
            slots.setdefault(key, {"group_id": fact.group_id, "page": page})[f"m.{slot}"] = (
                message_view(fact)
            )
            last_seq[fact.group_id] = max(last_seq.get(fact.group_id, 0), fact.seq)
        await self.pages.bulk_write(
            [
                UpdateOne({"_id": key}, {"$set": fields}, upsert=True)
                for key, fields in slots.items()
            ],
            ordered=False,
        )
        await self.groups.bulk_write(
            [UpdateOne({"_id": g}, {"$max": {"last_seq": s}}) for g, s in last_seq.items()],
            ordered=False,
        )

    async def _insert_ignoring_duplicates(self, docs: list[dict[str, Any]]) -> None:
        try:
            await self.messages.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                raise

    async def _apply_one(self, fact: Fact) -> None:
        group = {"_id": fact.group_id}
        match fact:
            case GroupCreated():
                owner = {"username": fact.owner, "role": "owner", "joined_at": fact.occurred_at}
                await self.groups.update_one(
                    group,
                    {
                        "$setOnInsert": {
                            "name": fact.name,
                            "private": fact.private,
                            "owner_id": fact.owner_id,
                            "owner": fact.owner,
                            "created_at": fact.occurred_at,
                            "last_seq": 0,
                            "members": {fact.owner_id: owner},
                            "invited": {},
                        }
                    },
                    upsert=True,
                )
                await self._link(fact.owner_id, fact.group_id, fact.occurred_at)
            case MemberInvited():
                invitation = {
                    "username": fact.username,
                    "by_id": fact.by_id,
                    "at": fact.occurred_at,
                }
                await self.groups.update_one(
                    group, {"$set": {f"invited.{fact.user_id}": invitation}}
                )
                pending = {
                    "name": fact.group_name,
                    "by_id": fact.by_id,
                    "by": fact.by,
                    "at": fact.occurred_at,
                }
                await self.user_groups.update_one(
                    {"_id": fact.user_id},
                    {"$set": {f"invited.{fact.group_id}": pending}},
                    upsert=True,
                )
            case MemberJoined():
                member = {
                    "username": fact.username,
                    "role": "member",
                    "joined_at": fact.occurred_at,
                }
                await self.groups.update_one(
                    group,
                    {
                        "$set": {f"members.{fact.user_id}": member},
                        "$unset": {f"invited.{fact.user_id}": ""},
                    },
                )
                await self._link(fact.user_id, fact.group_id, fact.occurred_at)
            case MemberLeft() | MemberRemoved():
                await self.groups.update_one(group, {"$unset": {f"members.{fact.user_id}": ""}})
                await self.user_groups.update_one(
                    {"_id": fact.user_id}, {"$unset": {f"groups.{fact.group_id}": ""}}
                )
            case MessageEdited():
                page, slot = page_of(fact.seq)
                await self.pages.update_one(
                    {"_id": page_id(fact.group_id, page)},
                    {
                        "$set": {
                            f"m.{slot}.body": fact.body,
                            f"m.{slot}.edited_at": fact.occurred_at,
                        }
                    },
                )
            case MessageDeleted():
                page, slot = page_of(fact.seq)
                await self.pages.update_one(
                    {"_id": page_id(fact.group_id, page)},
                    {
                        "$set": {
                            f"m.{slot}.body": "",
                            f"m.{slot}.deleted": True,
                            f"m.{slot}.deleted_at": fact.occurred_at,
                        }
                    },
                )
        if isinstance(fact, MessageEdited | MessageDeleted) and fact.change:
            await self._record_change(fact)

    async def _record_change(self, fact: MessageEdited | MessageDeleted) -> None:
        """Keep the change where a client that was away finds it by position, by ``_id``."""
        change = {
            "group_id": fact.group_id,
            "change": fact.change,
            "message_id": fact.message_id,
            "seq": fact.seq,
            "deleted": isinstance(fact, MessageDeleted),
            "body": "" if isinstance(fact, MessageDeleted) else fact.body,
            "at": fact.occurred_at,
        }
        await self.changes.update_one(
            {"_id": page_id(fact.group_id, fact.change)}, {"$set": change}, upsert=True
        )
        await self.groups.update_one({"_id": fact.group_id}, {"$max": {"last_change": fact.change}})

    async def _link(self, user_id: str, group_id: str, at: datetime) -> None:
        await self.user_groups.update_one(
            {"_id": user_id},
            {
                "$set": {f"groups.{group_id}": {"joined_at": at}},
                "$unset": {f"invited.{group_id}": ""},
            },
            upsert=True,
        )
