"""Sends are refused at once while messages take too long to arrive, and admitted again as
the lag drains, whatever the rate."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from gateway import admission
from gateway.admission import DeliveryLag
from gateway.commands import CommandError


class Clock:
    """Wall time and monotonic time, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(admission, "time", clock)
    return clock


def sent_ago(clock: Clock, seconds: float) -> datetime:
    return datetime.fromtimestamp(clock.now - seconds, UTC)


def test_sends_are_admitted_while_messages_arrive_in_time(clock: Clock) -> None:
    lag = DeliveryLag(limit=1.0)
    lag.admit()  # nothing read yet
    lag.observe(sent_ago(clock, 0.4))
    lag.admit()
    assert lag.refused == 0


def test_past_the_limit_a_send_is_refused_with_when_to_come_back(clock: Clock) -> None:
    lag = DeliveryLag(limit=1.0)
    lag.observe(sent_ago(clock, 3.2))
    with pytest.raises(CommandError) as refused:
        lag.admit()
    assert refused.value.code == "unavailable"
    assert refused.value.error()["retry_after"] == 3.2
    assert lag.refused == 1


def test_the_lag_drains_with_time_so_sends_come_back_without_new_reads(clock: Clock) -> None:
    """A node refusing every send reads no new messages: the lag it saw must not refuse for
    good."""
    lag = DeliveryLag(limit=1.0)
    lag.observe(sent_ago(clock, 3.0))
    clock.now += 1.5
    with pytest.raises(CommandError):
        lag.admit()
    clock.now += 1.0
    lag.admit()  # 3 s seen 2.5 s ago: 0.5 s now


def test_a_quick_message_read_after_a_slow_one_admits_at_once(clock: Clock) -> None:
    lag = DeliveryLag(limit=1.0)
    lag.observe(sent_ago(clock, 5.0))
    lag.observe(sent_ago(clock, 0.2))
    lag.admit()


def test_retry_after_is_bounded_and_no_limit_admits_all(clock: Clock) -> None:
    lag = DeliveryLag(limit=1.0)
    lag.observe(sent_ago(clock, 600))
    with pytest.raises(CommandError) as refused:
        lag.admit()
    assert refused.value.retry_after == admission.LONGEST_RETRY
    unlimited = DeliveryLag(limit=0)
    unlimited.observe(sent_ago(clock, 600))
    unlimited.admit()
    lag.observe(None)  # a message saved before messages said when they were sent
    with pytest.raises(CommandError):
        lag.admit()


async def test_a_full_event_loop_counts_as_lag() -> None:
    """Sends that wait for their turn in a busy node are stamped late: how late the loop runs
    a timer refuses them too."""
    lag = DeliveryLag(limit=0.05)
    watching = asyncio.create_task(lag.watch_loop())
    try:
        await asyncio.sleep(admission.LOOP_TICK / 2)  # its first timer is set
        time.sleep(0.3)  # noqa: ASYNC251 - the loop held up, as by work that fills it
        async with asyncio.timeout(5):
            while lag.lag() < 0.2:  # noqa: ASYNC110 - the watch notes it at its next turn
                await asyncio.sleep(0.01)
        with pytest.raises(CommandError):
            lag.admit()
    finally:
        watching.cancel()
