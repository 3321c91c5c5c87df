"""Which commit failures count toward setting a request aside: Kafka being away never does
(an acknowledged send must not end in the dead letters for an outage); a record the broker
refuses for good does."""

from __future__ import annotations

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    ProducerFenced,
    RequestTimedOutError,
)

from agents.transactions import is_transient


@pytest.mark.parametrize(
    "error",
    [
        KafkaConnectionError(),
        RequestTimedOutError(),
        NotLeaderForPartitionError(),
        KafkaTimeoutError(),
        ProducerFenced(),
        ConnectionResetError(),
        TimeoutError(),
    ],
)
def test_kafka_being_away_is_transient(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", [MessageSizeTooLargeError(), ValueError("a bug")])
def test_a_refused_record_or_a_bug_counts(error: BaseException) -> None:
    assert not is_transient(error)
