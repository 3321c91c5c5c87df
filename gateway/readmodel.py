"""Reads of the views the agents' projector writes (``records.views``), all by ``_id``.

The gateway never writes these collections: changes go through Kafka as requests and come
back as facts. The views trail the log by the projector's lag, so a read can ask for at least
a position this node has already seen in the log (``gateway.seen``: read-your-writes) and
waits, briefly, for the projector to get there. History is read page by page
(``records.views.PAGE_SIZE`` messages a document). What clients get of a document is built in
``gateway.client_events``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from gateway.client_events import (
    ClientEvent,
    change_to_client,
    invitation_to_client,
    slot_to_client,
)
from gateway.commands import CommandError
from gateway.seen import SeenLog
from records.views import (
    POSITIONS,
    PUBLIC_GROUPS,
    Group,
    change_shelf,
    group_shelf,
    group_view,
    page_of,
    page_shelf,
    position_id,
    read_slot,
    slot_of,
    slots_between,
    user_view,
    words_query,
)

CATCH_UP_POLL = 0.02
BLOCKS_FRESH_FOR = 30.0
"""Seconds the blocks of a direct conversation read from the views answer for it again,
while this node has read no block of it in the log (``ReadModel.blockers``)."""
BLOCKS_KEPT = 50_000
"""Direct conversations whose blocks read from the views are kept at most."""

log = logging.getLogger(__name__)


class AppliedPositions:
    """How far the projector has applied each partition of the log, read by one poller for
    every read of this node that waits on it, and only while one does.

    Each waiting read polling its own group's document instead cost the server a read of the
    groups per poll and per read (FerretDB scans the collection for an ``_id``): a storm of
    joins kept it busy for tens of seconds, and the projector it waited on with it. The
    positions are one small document a partition."""

    def __init__(self, positions: AsyncCollection[dict[str, Any]], poll: float = CATCH_UP_POLL):
        self._positions = positions
        self._poll = poll
        self.applied: dict[str, int] = {}
        """Position id (``records.views.position_id``) → the next offset to apply."""
        self._waiting = 0
        self._moved = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None

    async def until(self, partition: int, offset: int) -> None:
        """Return once the projector has applied ``partition`` of the log up to ``offset``
        (exclusive); bounded by the caller (``asyncio.timeout``)."""
        key = position_id(partition)
        if self.applied.get(key, 0) >= offset:
            return
        self._waiting += 1
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll_while_waited())
        try:
            while self.applied.get(key, 0) < offset:
                await self._moved.wait()
        finally:
            self._waiting -= 1

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()

    async def _poll_while_waited(self) -> None:
        while self._waiting:
            try:
                async for doc in self._positions.find({}):
                    self.applied[doc["_id"]] = int(doc["offset"])
            except PyMongoError as exc:
                log.warning("could not read the projector's positions: %r", exc)
            moved, self._moved = self._moved, asyncio.Event()
            moved.set()  # every waiter looks again, then waits for the next poll
            await asyncio.sleep(self._poll)


class ReadModel:
    def __init__(
        self,
        database: AsyncDatabase[dict[str, Any]],
        seen: SeenLog | None = None,
        wait: float = 2.0,
    ) -> None:
        self.database = database
        self.seen = seen if seen is not None else SeenLog()
        """What this node has read of the log, which the reads below wait for the views to
        reach (nothing read: they wait for nothing more than they ask)."""
        self.positions = database[POSITIONS]
        self.public_groups_view = database[PUBLIC_GROUPS]
        self.wait = wait
        """Longest a read waits for the projector to reach a position this node has seen."""
        self.applied = AppliedPositions(self.positions)
        self._blocks: dict[str, tuple[float, asyncio.Future[frozenset[str]]]] = {}
        """Direct conversation → until when, and who blocks in it as the views show (the
        read, while it is on its way)."""

    async def close(self) -> None:
        await self.applied.close()
        for _, reading in self._blocks.values():
            reading.cancel()

    async def current_group(self, group_id: str) -> Group | None:
        """The group's view once it holds every fact of the group this node has read in the
        log (a socket's own join among them): a read after a change sees the change."""
        head, wait = self.seen.head, None
        if (placed := self.seen.placed.get(group_id)) is not None:
            # The positions first (one poll for all the node's waiting reads), then the group
            # once; waited for in vain, the group is read as it is, after one more look.
            partition, offset = placed
            if not await self.reached({partition: offset}):
                wait = 0.0
        return await self.group(
            group_id,
            seq=head(group_id, "seq"),
            change=head(group_id, "change"),
            version=head(group_id, "version"),
            wait=wait,
        )

    async def member_group(self, user_id: str, group_id: str) -> Group:
        """The group as this node has read it (``current_group``), if the user is a member
        of it: ``group_not_found`` or ``not_a_member`` otherwise."""
        group = await self.current_group(group_id)
        if group is None:
            raise CommandError("group_not_found", f"there is no group {group_id!r}")
        if user_id not in group.members:
            raise CommandError("not_a_member", f"join group {group_id!r} first")
        return group

    async def caught_up(self) -> None:
        """Wait (briefly) until the views hold every fact this node has read in the log."""
        await self.reached(dict(self.seen.positions))

    async def caught_up_with(self, user_id: str) -> None:
        """Wait (briefly) for the views to show every membership change of the user this node
        has seen: their own joins and leaves, invitations to them."""
        for group_id, version in list(self.seen.changes_of(user_id).items()):
            await self.group(group_id, version=version)

    async def group(
        self,
        group_id: str,
        *,
        seq: int = 0,
        change: int = 0,
        version: int = 0,
        wait: float | None = None,
    ) -> Group | None:
        """The group, once its view holds at least the given positions (or after ``wait``,
        ``self.wait`` unless given: then as it is)."""
        deadline = time.monotonic() + (self.wait if wait is None else wait)
        while True:
            doc = await group_view(self.database, group_id).find_one({"_id": group_id})
            group = Group.from_document(doc) if doc is not None else None
            caught_up = group is not None and (
                group.last_seq >= seq and group.last_change >= change and group.version >= version
            )
            if caught_up or (group is None and version == 0) or time.monotonic() > deadline:
                return group
            await asyncio.sleep(CATCH_UP_POLL)

    async def reached(self, positions: dict[int, int]) -> bool:
        """Wait, up to ``wait``, until the projector has applied each partition of the log up
        to the given offset; False if it has not by then."""
        try:
            async with asyncio.timeout(self.wait):
                for partition, offset in positions.items():
                    await self.applied.until(partition, offset)
        except TimeoutError:
            return False
        return True

    async def group_ids_of(self, user_id: str) -> list[str]:
        doc = await user_view(self.database, user_id).find_one({"_id": user_id})
        return sorted((doc or {}).get("groups", {}))

    async def invitations_of(self, user_id: str) -> list[dict[str, Any]]:
        """Pending invitations: to private groups the user may now join."""
        doc = await user_view(self.database, user_id).find_one({"_id": user_id})
        invited = (doc or {}).get("invited", {})
        return [invitation_to_client(group_id, i) for group_id, i in sorted(invited.items())]

    async def blockers(self, group_id: str) -> frozenset[str]:
        """Who blocks the other in a direct conversation, for an early refusal (the agents
        refuse for good either way): the blocks this node has read in the log, else, for a
        conversation it has read none of since it started, the views', read once for every
        send that asks meanwhile and again after ``BLOCKS_FRESH_FOR``. A read for every
        message, at 1,000 a second over 100 conversations, held acknowledgements back for
        seconds; and with the views slow, every send that came while a read was on its way
        read again, which made them slower still."""
        read = self.seen.blockers.get(group_id)
        if read is not None:
            return frozenset(read)
        now = time.monotonic()
        kept = self._blocks.get(group_id)
        if kept is None or kept[0] <= now:
            self._blocks.pop(group_id, None)
            if len(self._blocks) >= BLOCKS_KEPT:
                del self._blocks[next(iter(self._blocks))]  # the longest kept
            kept = now + BLOCKS_FRESH_FOR, asyncio.ensure_future(self._blocks_shown(group_id))
            self._blocks[group_id] = kept
        try:
            return await asyncio.shield(kept[1])  # (one caller giving up ends no one's read)
        except PyMongoError:
            if self._blocks.get(group_id) is kept:
                del self._blocks[group_id]  # not kept: the next send reads again
            raise

    async def _blocks_shown(self, group_id: str) -> frozenset[str]:
        group = await self.group(group_id)
        return frozenset(group.blocked_by) if group is not None else frozenset()

    async def blocked_of(self, user_id: str) -> list[dict[str, str]]:
        """The people the user blocks, by username."""
        doc = await user_view(self.database, user_id).find_one({"_id": user_id}, {"blocked": 1})
        blocked = (doc or {}).get("blocked", {})
        people = [{"user_id": uid, "username": b["username"]} for uid, b in blocked.items()]
        return sorted(people, key=lambda p: (p["username"].casefold(), p["user_id"]))

    async def until_block_shown(self, blocker_id: str, user_id: str, blocked: bool) -> bool:
        """Wait, up to ``wait``, until the blocker's view shows whether they block ``user_id``
        (a block is no membership fact: no version to wait for). False if it does not by
        then."""
        deadline = time.monotonic() + self.wait
        view = user_view(self.database, blocker_id)
        while True:
            doc = await view.find_one({"_id": blocker_id}, {f"blocked.{user_id}": 1})
            if (user_id in (doc or {}).get("blocked", {})) == blocked:
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(CATCH_UP_POLL)

    async def pending_invitations(self, user_id: str) -> int:
        doc = await user_view(self.database, user_id).find_one({"_id": user_id}, {"invited": 1})
        return len((doc or {}).get("invited", {}))

    async def groups_of(self, user_id: str) -> list[Group]:
        groups = [await self.group(group_id) for group_id in await self.group_ids_of(user_id)]
        return [g for g in groups if g is not None and user_id in g.members]

    async def public_groups(self, query: str, limit: int) -> list[Group]:
        """Public groups with a word of their name starting with each word of ``query``
        (all of them when it has none), at most ``limit``, by name."""
        cursor = self.public_groups_view.find(words_query(query), {"_id": 1}).limit(limit)
        shelves: dict[str, list[str]] = {}
        async for doc in cursor:
            shelves.setdefault(group_shelf(doc["_id"]), []).append(doc["_id"])
        found = [
            Group.from_document(doc)
            for shelf, ids in shelves.items()
            async for doc in self.database[shelf].find({"_id": {"$in": ids}})
        ]
        return sorted(found, key=lambda g: (g.name.casefold(), g.group_id))

    async def history(
        self, group: Group, before_seq: int | None, limit: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Up to ``limit`` messages with ``seq < before_seq`` (the newest when None), newest
        first, and the cursor for the page before them (None at the start)."""
        before = before_seq or group.last_seq + 1
        newest, oldest = before - 1, max(1, before - limit)
        messages = (
            [m async for m in self.messages_between(group.group_id, oldest, newest)]
            if newest >= 1
            else []
        )
        messages.reverse()
        first = messages[-1]["seq"] if messages else before
        return messages, first if first > 1 else None

    async def history_after(
        self, group: Group, after_seq: int, limit: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Up to ``limit`` messages with ``seq > after_seq``, oldest first, and the cursor for
        the page after them (None once the newest message is in this page)."""
        first, last = after_seq + 1, min(after_seq + limit, group.last_seq)
        messages = (
            [m async for m in self.messages_between(group.group_id, first, last)]
            if first <= last
            else []
        )
        newest = messages[-1]["seq"] if messages else after_seq
        return messages, newest if newest < group.last_seq else None

    async def history_around(
        self, group: Group, around_seq: int, limit: int
    ) -> tuple[list[dict[str, Any]], int | None, int | None]:
        """Up to ``limit`` messages around ``around_seq``, oldest first: about half before
        it, it, and the rest after (more on one side where the other ends sooner); and the
        cursors of the pages before and after them (``before_seq``, ``after_seq``: None at
        the start and at the newest message)."""
        newest = group.last_seq
        around = min(around_seq, newest)
        first = max(1, around - limit // 2)
        last = min(newest, first + limit - 1)
        first = max(1, last - limit + 1)
        messages = (
            [m async for m in self.messages_between(group.group_id, first, last)]
            if first <= last
            else []
        )
        return messages, first if first > 1 else None, last if last < newest else None

    async def changes_between(
        self, group_id: str, first: int, last: int
    ) -> AsyncIterator[ClientEvent]:
        """Edits and deletes with ``first <= change <= last``, in order, as clients get them;
        stops at the first one not written yet."""
        for change in range(first, last + 1):
            doc = await self.database[change_shelf(group_id, change)].find_one({"_id": change})
            if doc is None:
                return
            yield change_to_client(doc)

    async def messages_between(
        self, group_id: str, first: int, last: int
    ) -> AsyncIterator[dict[str, Any]]:
        """Messages with ``first <= seq <= last``, oldest first, as clients receive them: a
        reply with the quote of its original as the views hold it now (an edit shows in it,
        a delete empties it). A page's messages go out together, the originals they answer
        on other pages read with them, one read a page of originals."""
        slots: dict[int, dict[str, Any]] = {}  # by seq: the messages and the originals read
        page: list[dict[str, Any]] = []
        async for slot in slots_between(self.database, group_id, first, last):
            if page and page_of(int(slot["seq"])) != page_of(int(page[0]["seq"])):
                for message in await self._quoting(group_id, page, slots):
                    yield message
                page = []
            page.append(slot)
        for message in await self._quoting(group_id, page, slots):
            yield message

    async def _quoting(
        self, group_id: str, page: list[dict[str, Any]], slots: dict[int, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """A page's slots as clients receive them, each reply with its quote."""
        slots.update((int(slot["seq"]), slot) for slot in page)
        quoted = [int(slot["reply_to"]["seq"]) for slot in page if slot.get("reply_to")]
        if missing := {seq for seq in quoted if seq not in slots}:
            slots.update(await self.slots_at(group_id, missing))

        def original(slot: dict[str, Any]) -> dict[str, Any] | None:
            reply_to = slot.get("reply_to")
            return slots.get(int(reply_to["seq"])) if reply_to else None

        return [slot_to_client(group_id, slot, original(slot)) for slot in page]

    async def slots_at(self, group_id: str, seqs: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The page slots of the messages at ``seqs`` that are written, by seq: one read a
        page, of those slots only."""
        by_page: dict[int, list[int]] = {}
        for seq in seqs:
            by_page.setdefault(page_of(seq), []).append(seq)
        found: dict[int, dict[str, Any]] = {}
        for page, wanted in sorted(by_page.items()):
            fields = {f"m.{slot_of(seq)}": 1 for seq in wanted}
            doc = await self.database[page_shelf(group_id, page)].find_one({"_id": page}, fields)
            stored = (doc or {}).get("m", {})
            for seq in wanted:
                if (value := stored.get(slot_of(seq))) is not None:
                    found[seq] = read_slot(value)
        return found
