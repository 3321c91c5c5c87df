"""The message projection in MongoDB: one document per message, numbered per group.

Idempotency rests on the document ``_id``: it is the submission's dedupe key
(group, sender, client message id), so a redelivered or retried submission finds the
document it already produced and is answered with the same ``message_id`` and ``seq``.

``seq`` is assigned here. Group-keyed partitions make this worker the only writer of a
group, so the next number is kept in memory, loaded from the highest stored ``seq`` the
first time a group is seen and forgotten on every rebalance. A unique index on
``(group_id, seq)`` turns any overlap between two writers into a retry, never a duplicate.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from records.events import MessageSaved, MessageSubmitted

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 5


class SequenceConflict(Exception):
    """Another writer stored a message of this group since our position was loaded."""


class MessageStore:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.messages: AsyncCollection[dict[str, Any]] = database["messages"]
        self._last_seq: dict[str, int] = {}

    async def ensure_indexes(self) -> None:
        await self.messages.create_index(
            [("group_id", ASCENDING), ("seq", ASCENDING)], unique=True, name="group_seq"
        )

    def forget_positions(self) -> None:
        """Drop cached positions: after a rebalance another worker may have written."""
        self._last_seq.clear()

    async def save(self, submissions: Iterable[MessageSubmitted]) -> list[MessageSaved]:
        """Store new submissions; answer each, in order, with its saved message.

        A submission seen before (same dedupe key) is answered with the stored message.
        """
        by_group: dict[str, list[MessageSubmitted]] = {}
        ordered = list(submissions)
        for submission in ordered:
            by_group.setdefault(submission.group_id, []).append(submission)
        saved: dict[str, MessageSaved] = {}
        for group_id, group_submissions in by_group.items():
            saved.update(await self._save_group(group_id, group_submissions))
        return [saved[submission.dedupe_key] for submission in ordered]

    async def _save_group(
        self, group_id: str, submissions: list[MessageSubmitted]
    ) -> dict[str, MessageSaved]:
        for _attempt in range(MAX_CONFLICT_RETRIES):
            try:
                return await self._try_save_group(group_id, submissions)
            except SequenceConflict:
                log.warning("sequence conflict in group %s; reloading its position", group_id)
                self._last_seq.pop(group_id, None)
        raise RuntimeError(f"group {group_id}: gave up after {MAX_CONFLICT_RETRIES} conflicts")

    async def _try_save_group(
        self, group_id: str, submissions: list[MessageSubmitted]
    ) -> dict[str, MessageSaved]:
        keys = list(dict.fromkeys(s.dedupe_key for s in submissions))
        stored = {doc["_id"]: doc async for doc in self.messages.find({"_id": {"$in": keys}})}
        last_seq = await self._position(group_id)
        new_docs: list[dict[str, Any]] = []
        for submission in submissions:
            if submission.dedupe_key in stored:
                continue
            last_seq += 1
            doc = _document(submission, last_seq)
            stored[submission.dedupe_key] = doc
            new_docs.append(doc)
        if new_docs:
            try:
                await self.messages.insert_many(new_docs, ordered=True)
            except (BulkWriteError, DuplicateKeyError) as exc:
                raise SequenceConflict(str(exc)) from exc
            self._last_seq[group_id] = last_seq
        return {key: _saved(doc) for key, doc in stored.items()}

    async def _position(self, group_id: str) -> int:
        if group_id not in self._last_seq:
            latest = await self.messages.find_one(
                {"group_id": group_id}, projection={"seq": 1}, sort=[("seq", DESCENDING)]
            )
            self._last_seq[group_id] = int(latest["seq"]) if latest else 0
        return self._last_seq[group_id]


def _document(submission: MessageSubmitted, seq: int) -> dict[str, Any]:
    return {
        "_id": submission.dedupe_key,
        "message_id": uuid.uuid4().hex,
        "group_id": submission.group_id,
        "seq": seq,
        "sender_id": submission.sender_id,
        "sender": submission.sender,
        "client_msg_id": submission.client_msg_id,
        "body": submission.body,
        "submitted_event_id": submission.event_id,
        "saved_at": _now_ms(),
    }


def _now_ms() -> datetime:
    """Now, cut to BSON's millisecond precision, so a re-read document equals the original."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _saved(doc: dict[str, Any]) -> MessageSaved:
    saved_at = doc["saved_at"]
    if saved_at.tzinfo is None:  # BSON dates come back naive unless the client is tz_aware
        saved_at = saved_at.replace(tzinfo=UTC)
    return MessageSaved(
        message_id=doc["message_id"],
        group_id=doc["group_id"],
        seq=doc["seq"],
        sender_id=doc["sender_id"],
        sender=doc["sender"],
        client_msg_id=doc["client_msg_id"],
        body=doc["body"],
        saved_at=saved_at,
    )
