"""The gateway's partitioner puts every key where aiokafka's default one (and Java's) does:
a group's requests must land in one partition whichever producer sends them."""

from __future__ import annotations

import uuid

from aiokafka.partitioner import DefaultPartitioner

from records.kafka import KeyPartitioner


def test_keys_go_where_the_default_partitioner_puts_them() -> None:
    ours, default = KeyPartitioner(remembered=64), DefaultPartitioner()
    keys = [uuid.uuid4().hex.encode() for _ in range(500)] + [b"", b"g1", "gröup".encode()]
    for count in (1, 2, 3, 4, 7, 16):
        partitions = list(range(count))
        for key in keys + keys[-50:]:  # the last 50 again: from what it remembered (64)
            assert ours(key, partitions, partitions) == default(key, partitions, partitions)


def test_no_key_goes_to_an_available_partition() -> None:
    ours = KeyPartitioner()
    assert {ours(None, [0, 1, 2, 3], [2]) for _ in range(20)} == {2}
    assert {ours(None, [5], []) for _ in range(5)} == {5}
