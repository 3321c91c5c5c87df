"""Read markers are coalesced: at most one request an interval per person and group, the
highest ``seq`` asked meanwhile, and the last one always goes."""

from __future__ import annotations

import asyncio

from gateway.markers import ReadCoalescer


async def test_a_burst_becomes_two_requests_the_last_with_the_highest_seq() -> None:
    sent: list[int] = []

    async def submit(seq: int) -> None:
        sent.append(seq)

    coalescer = ReadCoalescer(interval=1.0)
    await coalescer.mark("bob", "g", 3, submit)  # the first goes at once
    assert sent == [3]
    burst = [asyncio.create_task(coalescer.mark("bob", "g", seq, submit)) for seq in (5, 9, 7)]
    await asyncio.sleep(0.1)
    assert sent == [3] and not any(task.done() for task in burst)  # acknowledged only once sent
    await asyncio.gather(*burst)
    assert sent == [3, 9]
    await coalescer.mark("ann", "g", 1, submit)  # another person is not held back
    assert sent == [3, 9, 1]


async def test_a_failed_flush_refuses_every_waiting_caller() -> None:
    async def fails(seq: int) -> None:
        raise RuntimeError("Kafka is away")

    async def works(seq: int) -> None:
        return None

    coalescer = ReadCoalescer(interval=0.1)
    await coalescer.mark("bob", "g", 1, works)
    waiting = [asyncio.create_task(coalescer.mark("bob", "g", s, fails)) for s in (2, 3)]
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_a_marker_no_further_than_one_on_kafka_needs_no_request() -> None:
    sent: list[int] = []

    async def submit(seq: int) -> None:
        sent.append(seq)

    coalescer = ReadCoalescer(interval=0.05)
    await coalescer.mark("bob", "g", 10, submit)
    await coalescer.mark("bob", "g", 9, submit)  # at once: 10 covers it
    await asyncio.gather(*[coalescer.mark("bob", "g", seq, submit) for seq in (4, 8)])
    assert sent == [10]
