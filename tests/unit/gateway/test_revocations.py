"""Revocations announced while a node was not listening (Redis away) are made up when it
listens again: the revocations in force for the people connected there are applied."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.revocations import follow_revocations
from records.revocations import SessionsRevoked, revoked_key


class PubSub:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def __aenter__(self) -> PubSub:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None

    async def subscribe(self, channel: str) -> None:
        self.redis.subscriptions += 1
        if self.redis.subscriptions == 1:
            raise RedisConnectionError("Redis went away")

    async def get_message(self, timeout: float) -> None:  # noqa: ASYNC109 - redis-py's own
        await asyncio.sleep(0.01)


class Redis:
    def __init__(self, values: dict[str, bytes]) -> None:
        self.values, self.subscriptions = values, 0

    def pubsub(self, ignore_subscribe_messages: bool) -> PubSub:
        return PubSub(self)

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return [self.values.get(key) for key in keys]


async def test_what_was_announced_while_away_is_applied_on_return() -> None:
    redis = Redis({revoked_key("c", "bob"): b"1700000000.5"})
    applied: list[SessionsRevoked] = []

    async def revoked(event: SessionsRevoked) -> None:
        applied.append(event)

    stop = asyncio.Event()
    connected = ["bob", "ann", "bob"]  # Bob has two sockets here
    fake: Any = redis
    listening = follow_revocations(fake, "c", revoked, stop, connected=lambda: connected)
    task = asyncio.create_task(listening)
    async with asyncio.timeout(5):
        while not applied:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    stop.set()
    await task
    assert applied == [SessionsRevoked(user_id="bob", before=1700000000.5)]
    assert redis.subscriptions == 2
