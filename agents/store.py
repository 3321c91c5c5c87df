"""The message projection in MongoDB: one document per message, numbered per group.

Idempotency rests on the document ``_id``: it is the submission's dedupe key (group, sender,
client message id), so a redelivered or retried submission can never be stored twice, and is
answered with the document it first produced: same ``message_id``, same ``seq``.

``seq`` is assigned here. Group-keyed partitions make this worker the only writer of a group,
so the last number is kept in memory, loaded from the group's recorded ``last_seq`` the
first time a group is seen and forgotten on every rebalance. A unique index on
``(group_id, seq)`` turns an overlap between two writers into a reload and a retry, never a
duplicate number.

The common case costs one ``insert_many`` a batch and no read: inserts are ordered, so when
one document is refused, everything before it is stored, everything after it is not, and the
rest is renumbered and tried again. Reads happen only on a conflict or the first sight of a
group, which matters on servers where every non-``_id`` query scans (FerretDB on SQLite).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from agents.projections import Projector, saved_document
from records.events import MessageSaved, message_id, utcnow
from records.requests import MessageSubmitted

log = logging.getLogger(__name__)

MAX_CONFLICTS_PER_BATCH = 1000
RECENT_LIMIT = 50_000
"""Saved messages remembered by dedupe key, so most retries are answered without a read."""


class MessageStore:
    def __init__(self, projector: Projector) -> None:
        self.projector = projector
        self.messages: AsyncCollection[dict[str, Any]] = projector.messages
        self.groups: AsyncCollection[dict[str, Any]] = projector.groups
        self._last_seq: dict[str, int] = {}
        self._recent: OrderedDict[str, MessageSaved] = OrderedDict()

    def forget_positions(self) -> None:
        """Drop cached positions: after a rebalance another worker may have written."""
        self._last_seq.clear()

    async def save(self, submissions: Iterable[MessageSubmitted]) -> list[MessageSaved]:
        """Store new submissions and project them; answer each, in order, with its saved
        message. A submission seen before (same dedupe key) is answered with the stored one.
        """
        ordered = list(submissions)
        saved: dict[str, MessageSaved] = {}
        for submission in ordered:
            if (known := self._recent.get(submission.dedupe_key)) is not None:
                saved[submission.dedupe_key] = known
        pending: list[MessageSubmitted] = []
        seen = set(saved)
        for submission in ordered:
            if submission.dedupe_key not in seen:
                seen.add(submission.dedupe_key)
                pending.append(submission)
        cached = set(saved)
        for _ in range(MAX_CONFLICTS_PER_BATCH):
            pending = [s for s in pending if s.dedupe_key not in saved]
            if not pending:
                break
            await self._load_positions({s.group_id for s in pending})
            saved.update(await self._insert(pending))
        else:
            raise RuntimeError(f"gave up after {MAX_CONFLICTS_PER_BATCH} conflicts in one batch")
        # Found duplicates are projected again too: a crash may have come between the two.
        await self.projector.record_messages(
            (m for key, m in saved.items() if key not in cached), stored=True
        )
        for message in saved.values():
            self._remember(message)
        return [saved[s.dedupe_key] for s in ordered]

    async def _insert(self, pending: list[MessageSubmitted]) -> dict[str, MessageSaved]:
        """Insert in order; on the first refusal, learn what is stored and return the rest."""
        positions = dict(self._last_seq)
        docs = []
        now = utcnow()
        for submission in pending:
            positions[submission.group_id] += 1
            docs.append(saved_document(_saved(submission, positions[submission.group_id], now)))
        try:
            await self.messages.insert_many(docs, ordered=True)
            inserted = len(docs)
        except BulkWriteError as exc:
            inserted = int(exc.details.get("nInserted", 0))
            if not exc.details.get("writeErrors"):
                raise
        stored = {doc["_id"]: _from_document(doc) for doc in docs[:inserted]}
        for doc in docs[:inserted]:
            self._last_seq[doc["group_id"]] = doc["seq"]
        if inserted < len(docs):
            stored.update(await self._resolve_conflict(docs[inserted:]))
        return stored

    async def _resolve_conflict(self, refused: list[dict[str, Any]]) -> dict[str, MessageSaved]:
        """The first refused document is a duplicate submission or a taken ``seq``.

        Read which of the refused submissions are stored already (one query for all); if the
        first one is not, its ``seq`` was taken by another writer: reload that group.
        """
        keys = [doc["_id"] for doc in refused]
        found = {
            doc["_id"]: _from_document(doc)
            async for doc in self.messages.find({"_id": {"$in": keys}})
        }
        if refused[0]["_id"] not in found:
            group_id = refused[0]["group_id"]
            log.warning("seq %s of group %s was taken; reloading", refused[0]["seq"], group_id)
            self._last_seq[group_id] = await self._highest_stored_seq(group_id)
        return found

    async def _highest_stored_seq(self, group_id: str) -> int:
        """The authoritative position, from the messages themselves (a scan on FerretDB)."""
        latest = await self.messages.find_one(
            {"group_id": group_id}, projection={"seq": 1}, sort=[("seq", DESCENDING)]
        )
        return int(latest["seq"]) if latest else 0

    async def _load_positions(self, group_ids: set[str]) -> None:
        """Load the recorded ``last_seq`` of every group not cached yet, by ``_id``.

        A recorded position can lag the messages (a crash between the two writes); the
        first insert past it then conflicts and the authoritative position is read.
        """
        missing = sorted(group_ids - self._last_seq.keys())
        if not missing:
            return
        recorded = {
            doc["_id"]: int(doc.get("last_seq", 0))
            async for doc in self.groups.find({"_id": {"$in": missing}}, {"last_seq": 1})
        }
        for group_id in missing:
            self._last_seq[group_id] = recorded.get(group_id, 0)

    def _remember(self, message: MessageSaved) -> None:
        key = message.dedupe_key
        self._recent[key] = message
        self._recent.move_to_end(key)
        while len(self._recent) > RECENT_LIMIT:
            self._recent.popitem(last=False)


def _saved(submission: MessageSubmitted, seq: int, saved_at: datetime) -> MessageSaved:
    return MessageSaved(
        message_id=message_id(submission.group_id, seq),
        group_id=submission.group_id,
        seq=seq,
        sender_id=submission.actor_id,
        sender=submission.actor,
        client_msg_id=submission.client_msg_id,
        body=submission.body,
        saved_at=saved_at,
    )


def _from_document(doc: dict[str, Any]) -> MessageSaved:
    saved_at = doc["saved_at"]
    if saved_at.tzinfo is None:  # BSON dates come back naive unless the client is tz_aware
        saved_at = saved_at.replace(tzinfo=UTC)
    fields = {k: v for k, v in doc.items() if k != "_id"}
    return MessageSaved.model_validate({**fields, "saved_at": saved_at})
