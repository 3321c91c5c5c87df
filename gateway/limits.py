"""How much a person may ask of the chat: a token bucket per user and kind of event, in Redis,
so the allowance is shared by every socket of the person on every gateway node and survives a
reconnect. Which bucket a client event takes from is said where its handler is registered
(``gateway.handling``: ``@handles(event, bucket=...)``).

Each bucket holds up to ``burst`` tokens and refills at ``rate`` a second; an event takes one.
An empty bucket refuses with ``rate_limited`` and the seconds until a token is back
(``retry_after``). The bucket's arithmetic runs in Redis (one script call, Redis's own clock),
so nodes never race each other over it. A node takes tokens a few at a time (a tenth of the
burst, ``lease_size``) and spends them itself: a busy person costs one Redis call every few
events, not one an event (a round trip per message was a fifth of the gateway's CPU under
load). Every event still spends a token taken from the shared bucket, so no node, nor all of
them together, lets through more than the bucket allows; what a node holds and does not spend
within ``LEASE_SECONDS`` is dropped. When Redis cannot be reached the event is let through
and logged: the chat keeps working without its limits rather than stop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.commands import CommandError

log = logging.getLogger(__name__)

# KEYS[1] bucket; ARGV rate, burst, want. Takes up to ``want`` tokens and returns how many it
# took; with none left, returns minus the seconds until the next token.
TOKEN_BUCKET = """
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1]) or burst
local at = tonumber(held[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
if tokens < 1 then
  return tostring(-(1 - tokens) / rate)
end
local taken = math.min(want, math.floor(tokens))
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - taken), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(taken)
"""

LEASE_SECONDS = 10.0
"""How long a node keeps tokens it took and has not spent yet."""


Bucket = Literal["send", "change", "read", "marker", "typing", "search", "direct", "reaction"]
"""The kinds of event a person has an allowance of, each with its ``Limit`` (``Settings``)."""


@dataclass(frozen=True)
class Limit:
    rate: float
    """Events a second, sustained."""
    burst: int
    """Events at once, after a quiet spell."""

    @property
    def lease_size(self) -> int:
        """Tokens a node takes at once: a tenth of the burst (1 for a small one), so a person
        who moves to another node finds at most that much held elsewhere."""
        return max(1, min(50, self.burst // 10))


@dataclass
class _Lease:
    tokens: int
    taken_at: float


class RateLimits:
    def __init__(self, redis: Redis, namespace: str, limits: Mapping[Bucket, Limit]) -> None:
        self.limits = limits
        self._prefix = f"{namespace}:limits:"
        self._script = redis.register_script(TOKEN_BUCKET)
        self._leases: dict[str, _Lease] = {}
        self._refills: dict[str, asyncio.Lock] = {}
        self._swept_at = time.monotonic()

    async def spend(self, user_id: str, kind: Bucket) -> None:
        """Take one token of the user's ``kind`` bucket; ``CommandError('rate_limited')``
        with ``retry_after`` when there is none."""
        limit = self.limits[kind]
        key = f"{self._prefix}{kind}:{user_id}"
        if self._take_held(key):
            return
        # One refill at a time per bucket: events that find the lease empty together (a
        # reconnect joining every group at once) wait for it rather than each take a lease,
        # which would empty the shared bucket and refuse them while the node held the tokens.
        async with self._refills.setdefault(key, asyncio.Lock()):
            if self._take_held(key):
                return
            try:
                answer = float(
                    await self._script(keys=[key], args=[limit.rate, limit.burst, limit.lease_size])
                )
            except RedisError as exc:
                log.warning("rate limits unavailable (%s); letting %s through", exc, kind)
                return
            if answer < 0:
                retry_after = math.ceil(-answer * 10) / 10
                raise CommandError(
                    "rate_limited",
                    f"too many {kind} events; try again in {retry_after:.1f} s",
                    retry_after=retry_after,
                )
            now = time.monotonic()
            self._sweep(now)
            self._leases[key] = _Lease(int(answer) - 1, now)

    def _take_held(self, key: str) -> bool:
        lease = self._leases.get(key)
        if lease is None or lease.tokens <= 0:
            return False
        if time.monotonic() - lease.taken_at >= LEASE_SECONDS:
            return False
        lease.tokens -= 1
        return True

    def _sweep(self, now: float) -> None:
        """Drop the leases that have run out, so the map holds only the active."""
        if now - self._swept_at < LEASE_SECONDS:
            return
        self._swept_at = now
        spent = [k for k, lease in self._leases.items() if now - lease.taken_at >= LEASE_SECONDS]
        for key in spent:
            del self._leases[key]
        for key in [k for k, lock in self._refills.items() if not lock.locked()]:
            if key not in self._leases:
                del self._refills[key]
