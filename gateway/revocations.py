"""Revoked sessions (``records.revocations``): refused at connect, closed when announced."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from records.revocations import SessionsRevoked, revoked_key

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


async def revoked_before(redis: Redis, channel: str, user_id: str) -> float:
    """The moment before which the person's tokens are revoked (0: none are); 0 when Redis
    cannot say, so the chat keeps working without it."""
    try:
        value = await redis.get(revoked_key(channel, user_id))
    except RedisError:
        log.exception("could not read the revocations of %s", user_id)
        return 0.0
    return float(value) if value else 0.0


async def follow_revocations(
    redis: Redis,
    channel: str,
    revoked: Callable[[SessionsRevoked], Awaitable[None]],
    stop: asyncio.Event,
) -> None:
    """Hand every announced revocation to ``revoked`` until ``stop`` is set; resubscribes
    after Redis comes back (what was announced meanwhile is still refused at connect).

    Polls with a timeout rather than blocking in ``listen()``: redis-py's blocking read does
    not always let a cancellation through, which would hang the node's shutdown."""
    while not stop.is_set():
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(channel)
                while not stop.is_set():
                    message = await pubsub.get_message(timeout=POLL_SECONDS)
                    if message is None:
                        continue
                    try:
                        event = SessionsRevoked.from_json(message["data"])
                    except (ValueError, KeyError, TypeError):
                        log.error("skipping an unreadable revocation: %r", message["data"])
                        continue
                    await revoked(event)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - keep listening through Redis going away
            log.exception("listening for revocations failed; again in 1 s")
            await asyncio.sleep(1.0)
