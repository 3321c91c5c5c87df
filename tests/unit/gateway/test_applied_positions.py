"""Reads that wait for the projector share one poll of its positions, however many wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.readmodel import AppliedPositions
from records.views import position_id


class Positions:
    """The positions collection as the poller reads it: ``find({})``, counted."""

    def __init__(self) -> None:
        self.offsets: dict[int, int] = {}
        self.reads = 0

    def find(self, query: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        assert query == {}
        self.reads += 1
        docs = [{"_id": position_id(p), "offset": n} for p, n in self.offsets.items()]

        async def cursor() -> AsyncIterator[dict[str, Any]]:
            for doc in docs:
                yield doc

        return cursor()


async def test_many_waiting_reads_cost_one_poll_each_time_and_wake_when_applied() -> None:
    positions = Positions()
    applied = AppliedPositions(positions, poll=0.01)  # type: ignore[arg-type]
    waiters = [asyncio.create_task(applied.until(0, 100)) for _ in range(50)]
    later = asyncio.create_task(applied.until(0, 200))
    await asyncio.sleep(0.1)
    assert not any(w.done() for w in waiters)
    polls = positions.reads
    assert 3 <= polls <= 15  # one poll a tick for all 51, not one each

    positions.offsets[0] = 150
    async with asyncio.timeout(1):
        await asyncio.gather(*waiters)
    assert not later.done()

    positions.offsets[0] = 200
    async with asyncio.timeout(1):
        await later
    assert applied._poller is not None
    async with asyncio.timeout(1):
        await applied._poller  # nobody waits: the poller ends, nothing polls
    await applied.close()


async def test_a_position_already_applied_needs_no_poll_and_a_bound_stops_the_wait() -> None:
    positions = Positions()
    applied = AppliedPositions(positions, poll=0.01)  # type: ignore[arg-type]
    positions.offsets[1] = 10
    async with asyncio.timeout(1):
        await applied.until(1, 5)  # polled once: now known
    reads = positions.reads
    await applied.until(1, 10)
    assert positions.reads == reads
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await applied.until(1, 11)
    assert applied._waiting == 0
    assert applied._poller is not None
    async with asyncio.timeout(1):
        await applied._poller  # the wait given up on, nothing keeps it polling
    await applied.close()
