"""Snapshots of the decision state, so a worker folds only the log's tail on assignment.

A snapshot is a partition's ``PartitionState`` as it stood after a committed transaction, with
the offset of the event log it covers (the next one to fold). It is kept on a compacted topic,
one partition per partition of the log, its newest record the one that counts. The state at
an offset is a function of the log up to that offset alone, so any snapshot, however old,
plus the log after it gives the same state as a fold from the start: a snapshot can be lost,
stale or written by a fenced worker without harm. The log stays the source of truth.
"""

from __future__ import annotations

import base64
import logging
import sys
import zlib
from array import array
from collections import OrderedDict
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from agents.state import GroupState, PartitionState
from records.kafka import SNAPSHOT_BYTES
from records.settings import KafkaSettings

log = logging.getLogger(__name__)

FORMAT = 6
"""Raised when the state gains a field: an older snapshot is ignored and the log folded."""


def encode(state: PartitionState, offset: int) -> bytes:
    groups = [_group_to_dict(group) for group in state.groups.values()]
    body = {"format": FORMAT, "partition": state.partition, "offset": offset, "groups": groups,
            "keys_issued": state.keys_issued}  # fmt: skip
    return zlib.compress(orjson.dumps(body), 3)


def decode(raw: bytes, dedupe_window: int) -> tuple[PartitionState, int]:
    """The state and the offset to fold on from; ``ValueError`` if it cannot be read."""
    try:
        body = orjson.loads(zlib.decompress(raw))
        if body.get("format") != FORMAT:
            raise ValueError(f"snapshot format {body.get('format')!r}")
        state = PartitionState(int(body["partition"]), dedupe_window)
        state.keys_issued = int(body["keys_issued"])
        for data in body["groups"]:
            group = _group_from_dict(data, dedupe_window)
            state.groups[group.group_id] = group
        return state, int(body["offset"])
    except (zlib.error, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable snapshot: {exc!r}") from None


def _group_to_dict(group: GroupState) -> dict[str, Any]:
    senders = list(dict.fromkeys(group.authors))
    index = {sender: n for n, sender in enumerate(senders)}
    authors = array("I", (index[a] for a in group.authors))
    return {
        "id": group.group_id,
        "exists": group.exists,
        "name": group.name,
        "private": group.private,
        "owner": group.owner_id,
        "members": group.members,
        "invited": group.invited,
        "invited_by": group.invited_by,
        "removed": group.removed,
        "read": group.read,
        "seq": group.last_seq,
        "change": group.last_change,
        "version": group.version,
        "senders": senders,
        "authors": base64.b64encode(authors.tobytes()).decode(),
        "deleted": sorted(group.deleted),
        "edits": [[seq, changes] for seq, changes in group.edits.items()],
        "reactions": [
            [seq, [[emoji, sorted(people)] for emoji, people in on_message.items()]]
            for seq, on_message in group.reactions.items()
        ],
        "direct": group.direct,
        "blockers": sorted(group.blockers),
        "recent": list(group.recent.items()),
    }


def _group_from_dict(data: dict[str, Any], dedupe_window: int) -> GroupState:
    senders = data["senders"]
    authors = array("I")
    authors.frombytes(base64.b64decode(data["authors"]))
    recent = OrderedDict((key, int(seq)) for key, seq in data["recent"][-dedupe_window:])
    return GroupState(
        group_id=data["id"],
        exists=bool(data["exists"]),
        name=data["name"],
        private=bool(data["private"]),
        owner_id=data["owner"],
        members=dict(data["members"]),
        invited=dict(data["invited"]),
        invited_by=dict(data["invited_by"]),
        removed=dict(data["removed"]),
        read={user: int(seq) for user, seq in data["read"].items()},
        last_seq=int(data["seq"]),
        last_change=int(data["change"]),
        version=int(data["version"]),
        authors=[senders[n] for n in authors],
        deleted=set(data["deleted"]),
        edits={int(seq): [int(c) for c in changes] for seq, changes in data["edits"]},
        reactions={
            int(seq): {emoji: {sys.intern(p) for p in people} for emoji, people in on_message}
            for seq, on_message in data["reactions"]
        },
        direct=dict(data["direct"]),
        blockers=set(data["blockers"]),
        recent=recent,
        dedupe_window=dedupe_window,
    )


class Snapshots:
    def __init__(self, settings: KafkaSettings, dedupe_window: int) -> None:
        self.settings = settings
        self.topic = settings.topics.snapshots
        self.dedupe_window = dedupe_window
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap_servers,
            max_request_size=SNAPSHOT_BYTES,
            compression_type=None,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def save(self, state: PartitionState, offset: int) -> None:
        assert self._producer is not None
        raw = encode(state, offset)
        await self._producer.send_and_wait(
            self.topic, raw, key=str(state.partition).encode(), partition=state.partition
        )
        log.info(
            "snapshot of partition %d at offset %d: %d groups, %d bytes",
            state.partition,
            offset,
            len(state.groups),
            len(raw),
        )

    async def latest(self, partition: int) -> tuple[PartitionState, int] | None:
        """The newest readable snapshot of ``partition``, if any."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            max_partition_fetch_bytes=SNAPSHOT_BYTES,
            fetch_max_bytes=SNAPSHOT_BYTES,
        )
        await consumer.start()
        try:
            tp = TopicPartition(self.topic, partition)
            consumer.assign([tp])
            end = (await consumer.end_offsets([tp]))[tp]
            if end == 0:
                return None
            consumer.seek(tp, end - 1)
            records = (await consumer.getmany(tp, timeout_ms=5000)).get(tp, [])
            if not records:
                return None
            try:
                return decode(records[-1].value or b"", self.dedupe_window)
            except ValueError as exc:
                log.warning("ignoring the snapshot of partition %d: %s", partition, exc)
                return None
        finally:
            await consumer.stop()
