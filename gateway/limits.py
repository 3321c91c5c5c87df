"""How much a person may ask of the chat: a token bucket per user and kind of event, in Redis,
so the allowance is shared by every socket of the person on every gateway node and survives a
reconnect.

Each bucket holds up to ``burst`` tokens and refills at ``rate`` a second; an event takes one.
An empty bucket refuses with ``rate_limited`` and the seconds until a token is back
(``retry_after``). The bucket's arithmetic runs in Redis (one script call, Redis's own clock),
so nodes never race each other over it. When Redis cannot be reached the event is let through
and logged: the chat keeps working without its limits rather than stop.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.commands import CommandError

log = logging.getLogger(__name__)

# KEYS[1] bucket; ARGV rate, burst. Returns 0 (allowed) or the seconds until the next token.
TOKEN_BUCKET = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1]) or burst
local at = tonumber(held[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
if tokens < 1 then
  return tostring((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return '0'
"""


KIND_OF_EVENT = {
    "send": "send",
    "typing": "typing",
    **dict.fromkeys(
        ["create_group", "invite", "leave", "remove_member", "decline", "revoke", "edit", "delete"],
        "change",
    ),
    # ``join`` is also how a reconnecting client follows each of its groups again.
    **dict.fromkeys(
        ["join", "groups", "members", "history", "find_groups", "presence", "read"], "read"
    ),
}
"""Which bucket each client event takes its token from."""


@dataclass(frozen=True)
class Limit:
    rate: float
    """Events a second, sustained."""
    burst: int
    """Events at once, after a quiet spell."""


class RateLimits:
    def __init__(self, redis: Redis, namespace: str, limits: dict[str, Limit]) -> None:
        self.limits = limits
        self._prefix = f"{namespace}:limits:"
        self._script = redis.register_script(TOKEN_BUCKET)

    async def spend(self, user_id: str, kind: str) -> None:
        """Take one token of the user's ``kind`` bucket; ``CommandError('rate_limited')``
        with ``retry_after`` when there is none."""
        limit = self.limits[kind]
        try:
            answer = await self._script(
                keys=[f"{self._prefix}{kind}:{user_id}"], args=[limit.rate, limit.burst]
            )
        except RedisError as exc:
            log.warning("rate limits unavailable (%s); letting %s through", exc, kind)
            return
        wait = float(answer)
        if wait > 0:
            retry_after = math.ceil(wait * 10) / 10
            raise CommandError(
                "rate_limited",
                f"too many {kind} events; try again in {retry_after:.1f} s",
                retry_after=retry_after,
            )
