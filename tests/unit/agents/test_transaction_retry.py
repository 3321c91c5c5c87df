"""The wait before a transaction's first partitions are added again after "concurrent
transactions" (the previous commit's markers still being written): aiokafka's own handler is
asked, so a rename of the constant it reads shows here instead of as 20 ms on every commit."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiokafka.errors import ConcurrentTransactions
from aiokafka.producer import sender as aiokafka_sender
from aiokafka.producer.sender import AddPartitionsToTxnHandler
from aiokafka.producer.transaction_manager import TransactionManager
from aiokafka.structs import TopicPartition

from agents.transactions import NEXT_TRANSACTION_RETRY, retry_concurrent_transactions_after


def backoff_after_concurrent_transactions(*, partitions_added: bool) -> float | None:
    """What aiokafka's handler waits after the broker answered "concurrent transactions"."""
    manager = TransactionManager("decider-0", transaction_timeout_ms=60_000)
    manager.set_pid_and_epoch(7, 0)
    manager.begin_transaction()
    if partitions_added:
        manager.maybe_add_partition_to_txn(TopicPartition("events", 1))
        manager.partition_added(TopicPartition("events", 1))
    tp = TopicPartition("events", 0)
    manager.maybe_add_partition_to_txn(tp)
    sender = SimpleNamespace(_txn_manager=manager, _retry_backoff=0.01)
    handler = AddPartitionsToTxnHandler(sender, [tp])
    response = SimpleNamespace(errors=[("events", [(0, ConcurrentTransactions.errno)])])
    return handler.handle_response(response)  # type: ignore[no-any-return]


@pytest.fixture
def default_backoff(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(aiokafka_sender, "BACKOFF_OVERRIDE", 0.02)  # aiokafka's own
    return 0.02


async def test_a_transactions_first_partitions_are_retried_after_the_lowered_wait(
    default_backoff: float,
) -> None:
    assert backoff_after_concurrent_transactions(partitions_added=False) == default_backoff
    retry_concurrent_transactions_after(NEXT_TRANSACTION_RETRY)
    assert backoff_after_concurrent_transactions(partitions_added=False) == NEXT_TRANSACTION_RETRY
    assert NEXT_TRANSACTION_RETRY < default_backoff


async def test_partitions_added_later_in_a_transaction_keep_the_producers_backoff(
    default_backoff: float,
) -> None:
    retry_concurrent_transactions_after(NEXT_TRANSACTION_RETRY)
    assert backoff_after_concurrent_transactions(partitions_added=True) == 0.01


async def test_the_wait_is_never_raised(default_backoff: float) -> None:
    retry_concurrent_transactions_after(1.0)
    assert backoff_after_concurrent_transactions(partitions_added=False) == default_backoff
