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


async def is_revoked(redis: Redis, channel: str, user_id: str, issued_at: float) -> bool:
    """True if a token of the person issued at ``issued_at`` (a timestamp) is revoked."""
    return issued_at < await revoked_before(redis, channel, user_id)


async def revocations_of(redis: Redis, channel: str, user_ids: list[str]) -> list[SessionsRevoked]:
    """The revocations in force for these people, read in chunks (one MGET a few hundred)."""
    found: list[SessionsRevoked] = []
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        values = await redis.mget([revoked_key(channel, user_id) for user_id in chunk])
        found += [
            SessionsRevoked(user_id=user_id, before=float(value))
            for user_id, value in zip(chunk, values, strict=True)
            if value
        ]
    return found


async def follow_revocations(
    redis: Redis,
    channel: str,
    revoked: Callable[[SessionsRevoked], Awaitable[None]],
    stop: asyncio.Event,
    connected: Callable[[], list[str]] = list,
) -> None:
    """Hand every announced revocation to ``revoked`` until ``stop`` is set; resubscribes
    after Redis comes back. What was announced while this node was not listening is made up
    then: the revocations in force for every person ``connected`` here go to ``revoked``
    too (and are refused at connect in any case).

    Polls with a timeout rather than blocking in ``listen()``: redis-py's blocking read does
    not always let a cancellation through, which would hang the node's shutdown."""
    missed = False
    while not stop.is_set():
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(channel)
                if missed:
                    for event in await revocations_of(redis, channel, sorted(set(connected()))):
                        await revoked(event)
                    missed = False
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
            missed = True
            await asyncio.sleep(1.0)
