"""Folding a partition of the event log into the decision state (``agents.state``), from
the newest snapshot when there is one: what a worker does before it decides a partition it
was given. Committed records only: an uncommitted fact may yet be aborted."""

from __future__ import annotations

import logging

from aiokafka.structs import TopicPartition

from agents.settings import Settings
from agents.state import PartitionState
from records.kafka import committed_reader

log = logging.getLogger(__name__)


async def fold_partition(
    settings: Settings, partition: int, snapshot: tuple[PartitionState, int] | None = None
) -> tuple[PartitionState, int]:
    """The decision state of one partition: its events, committed ones only, to the end, from
    ``snapshot`` (a state and the offset it covers) when there is one. Returns the state and
    the offset it now covers."""
    state, start = snapshot or (PartitionState(partition, settings.dedupe_window), 0)
    consumer = committed_reader(
        settings, max_partition_fetch_bytes=16 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024
    )
    await consumer.start()
    try:
        tp = TopicPartition(settings.topics.events, partition)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if start > end:  # a snapshot of another log of the same name: fold from the start
            log.warning("snapshot of partition %d is past the log's end; ignoring it", partition)
            state, start = PartitionState(partition, settings.dedupe_window), 0
        consumer.seek(tp, start)
        while await consumer.position(tp) < end:
            batches = await consumer.getmany(tp, timeout_ms=500, max_records=20_000)
            for record in batches.get(tp, []):
                if record.offset >= end:
                    break
                state.fold_raw(record.value)
    finally:
        await consumer.stop()
    return state, end
