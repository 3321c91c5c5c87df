"""Token leases: a node takes a person's tokens from the shared bucket a few at a time; events
that find the lease empty together wait for one refill instead of each emptying the bucket."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.commands import CommandError
from gateway.limits import Limit, RateLimits


class Bucket:
    """The Redis script's arithmetic without refill: ``tokens`` left, a round trip of 2 ms."""

    def __init__(self, tokens: int) -> None:
        self.tokens, self.calls = tokens, 0

    def register_script(self, script: str) -> Any:
        async def run(keys: list[str], args: list[Any]) -> bytes:
            self.calls += 1
            await asyncio.sleep(0.002)
            if self.tokens < 1:
                return b"-5"
            taken = min(int(args[2]), self.tokens)
            self.tokens -= taken
            return str(taken).encode()

        return run


async def test_a_burst_of_events_at_once_is_let_through_on_one_refill() -> None:
    bucket = Bucket(200)
    limits = RateLimits(bucket, "t", {"read": Limit(rate=20, burst=200)})  # type: ignore[arg-type]
    results = await asyncio.gather(
        *[limits.spend("ann", "read") for _ in range(30)], return_exceptions=True
    )
    assert [r for r in results if r is not None] == []
    assert bucket.calls == 2  # 20 tokens a lease
    assert bucket.tokens == 160


async def test_no_more_is_admitted_than_the_bucket_holds() -> None:
    bucket = Bucket(25)
    limits = RateLimits(bucket, "t", {"send": Limit(rate=1, burst=100)})  # type: ignore[arg-type]
    results = await asyncio.gather(
        *[limits.spend("ann", "send") for _ in range(40)], return_exceptions=True
    )
    admitted = [r for r in results if r is None]
    refused = [r for r in results if isinstance(r, CommandError)]
    assert len(admitted) == 25 and len(refused) == 15
    assert all(r.code == "rate_limited" and r.retry_after == 5 for r in refused)
    with pytest.raises(CommandError):
        await limits.spend("ann", "send")
