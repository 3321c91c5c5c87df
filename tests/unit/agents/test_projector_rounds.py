"""A projector round holds every record fetched during its pause, each offset once even when
the partition was sought back meanwhile, and no more than ``ROUND_RECORDS``."""

from __future__ import annotations

import pytest
from aiokafka.structs import ConsumerRecord, TopicPartition

import agents.projector
from agents.projector import Projector
from agents.settings import Settings

LOG = TopicPartition("log", 0)
SETTINGS = Settings(kafka_url="kafka://localhost:9092", mongodb_uri="mongodb://localhost")  # type: ignore[call-arg]


def record(offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=LOG.topic, partition=LOG.partition, offset=offset, timestamp=0, timestamp_type=0,
        key=None, value=b"", checksum=None, serialized_key_size=0, serialized_value_size=0,
        headers=(),
    )  # fmt: skip


class Consumer:
    """Answers ``getmany`` with the fetches it is given, then with nothing."""

    def __init__(self, *fetches: list[int]) -> None:
        self.fetches = list(fetches)
        self.asked: list[int] = []

    async def getmany(
        self, *, timeout_ms: int, max_records: int
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        self.asked.append(max_records)
        if not self.fetches:
            return {}
        offsets = self.fetches.pop(0)[:max_records]
        return {LOG: [record(offset) for offset in offsets]}


async def test_a_round_keeps_every_offset_once_after_a_seek_back() -> None:
    # The second fetch starts again at 1: the partition was assigned again and sought back.
    consumer = Consumer([0, 1, 2], [1, 2, 3], [4])
    batches = await Projector(SETTINGS)._collect(consumer, 0.05)  # type: ignore[arg-type]
    assert [r.offset for r in batches[LOG]] == [0, 1, 2, 3, 4]


async def test_a_round_stops_at_its_record_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agents.projector, "ROUND_RECORDS", 4)
    consumer = Consumer([0, 1, 2], [3, 4, 5], [6])
    batches = await Projector(SETTINGS)._collect(consumer, 5.0)  # type: ignore[arg-type]
    assert [r.offset for r in batches[LOG]] == [0, 1, 2, 3]
    assert consumer.asked == [4, 1]  # it asked only for what the round could still hold
