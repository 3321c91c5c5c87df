"""Writing the MongoDB views (``records.views``) from the group-events log.

Every write is a function of the facts alone and idempotent, so applying a stretch of the log
twice (a projector restarted before it recorded its position) changes nothing, and the live
projector and a replay build identical documents. Runs of saved messages and reactions are
written in bulk. Each fact's writes are in the module of the views it changes:
``agents.memberships``, ``agents.pages``, ``agents.unread``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, assert_never

from pymongo.asynchronous.database import AsyncDatabase

from agents.memberships import Memberships
from agents.pages import MessagePages
from agents.unread import UnreadCounts
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
from records.views import POSITIONS, PUBLIC_GROUPS, is_view, position_id


class ViewWriter:
    """The views of one database, and the log's positions they cover."""

    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.database = database
        self.unread = UnreadCounts(database)
        self.pages = MessagePages(database, self.unread)
        self.memberships = Memberships(database, self.unread)
        self.positions = database[POSITIONS]
        self.public_groups = database[PUBLIC_GROUPS]

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

    def forget(self) -> None:
        """Drop what is remembered of the groups: another projector may have written them
        (a partition that moved between workers)."""
        self.unread.forget()

    async def apply(self, facts: Sequence[Fact]) -> None:
        """Project facts in order, as ``apply_one`` would one by one; but runs of saved
        messages and reactions are written in bulk (``_write_run``), and the read markers of
        the batch last, one recount per group for all its readers.

        A marker is a recount from scratch (``UnreadCounts.recount``), so moving it to the
        end of the batch changes no count the batch ends with; the counts written on the way
        for the messages before it are corrected by it. Applied one by one, markers cost a
        group's document read twice and written once each: under a burst of reading, the
        views fell seconds behind the log."""
        run: list[MessageSaved | ReactionToggled] = []
        markers: dict[str, dict[str, int]] = {}
        """Group id → reader → the highest seq they marked in this batch."""
        for fact in facts:
            if isinstance(fact, MessageSaved | ReactionToggled):
                run.append(fact)
                continue
            if isinstance(fact, ReadMarked):
                readers = markers.setdefault(fact.group_id, {})
                readers[fact.user_id] = max(readers.get(fact.user_id, 0), fact.seq)
                continue
            if run:
                await self._write_run(run)
                run = []
            await self.apply_one(fact)
        if run:
            await self._write_run(run)
        for group_id, readers in markers.items():
            self.unread.forget_group(group_id)
            await self.unread.recount(group_id, readers)

    async def _write_run(self, run: Sequence[MessageSaved | ReactionToggled]) -> None:
        """A run of saved messages and reactions: all the messages, then all the reactions.
        That is the log's order for every slot: a reaction is to a message earlier in the
        log (earlier in the run, or written already), and a message's slot is written once,
        by its own save. Reactions move no count and saved messages no change, so nothing
        else a run writes depends on the order between the two."""
        saved = [fact for fact in run if isinstance(fact, MessageSaved)]
        reactions = [fact for fact in run if isinstance(fact, ReactionToggled)]
        if saved:
            await self.pages.record(saved)
        if reactions:
            await self.pages.react_all(reactions)

    async def apply_one(self, fact: Fact) -> None:
        """Project one fact, as ``apply([fact])`` would: each fact's writes, named here."""
        if not isinstance(fact, MessageSaved | ReactionToggled):
            self.unread.forget_group(fact.group_id)  # its members or markers may change
        match fact:
            case GroupCreated():
                await self.memberships.created(fact)
            case MemberInvited():
                await self.memberships.invited(fact)
            case MemberJoined():
                await self.memberships.joined(fact)
            case MemberLeft() | MemberRemoved():
                await self.memberships.left(fact)
            case InvitationDeclined() | InvitationRevoked():
                await self.memberships.uninvited(fact)
            case MessageSaved():
                await self.pages.record([fact])  # (``apply`` writes runs of them at once)
            case ReadMarked():
                # (``apply`` recounts a batch's markers last, once a group)
                await self.unread.recount(fact.group_id, {fact.user_id: fact.seq})
            case MessageEdited():
                await self.pages.edit(fact)
            case MessageDeleted():
                await self.pages.delete(fact)
            case ReactionToggled():
                await self.pages.react(fact)
            case DirectOpened():
                await self.memberships.direct_opened(fact)
            case UserBlocked():
                await self.memberships.blocked(fact)
            case UserUnblocked():
                await self.memberships.unblocked(fact)
            case _:
                assert_never(fact)
