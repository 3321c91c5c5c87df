"""Who is online, across gateway nodes, in Redis; correct when a node dies.

Each socket is an entry with an expiry time, in a sorted set per user and in one set of all
sockets. Nodes refresh their sockets' entries every third of ``presence_ttl``; entries of a
node that died are not refreshed, and any node's sweeper removes them once expired. A user is
online while any of their entries is unexpired; going online or offline is announced to the
user's groups by whichever node saw the change (a ``ZREM`` that returns 1 happens once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

log = logging.getLogger(__name__)

Announce = Callable[[str, str, bool], Awaitable[None]]
"""``announce(user_id, username, online)``."""


class Presence:
    def __init__(self, redis: Redis, namespace: str, ttl: float, announce: Announce) -> None:
        self.redis = redis
        self.ttl = ttl
        self.announce = announce
        self.local: dict[str, tuple[str, str]] = {}
        """Socket id → (user id, username) of this node's sockets."""
        self._all = f"{namespace}:presence:sockets"
        self._names = f"{namespace}:presence:names"
        self._prefix = f"{namespace}:presence:user:"
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep_alive())

    @property
    def task(self) -> asyncio.Task[None]:
        """The background task, once started."""
        assert self._task is not None, "not started"
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def arrived(self, sid: str, user_id: str, username: str) -> None:
        self.local[sid] = (user_id, username)
        was_online = await self.is_online(user_id)
        expires = time.time() + self.ttl
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._user(user_id), {sid: expires})
            pipe.zadd(self._all, {f"{user_id}|{sid}": expires})
            pipe.hset(self._names, user_id, username)
            await pipe.execute()
        if not was_online:
            await self.announce(user_id, username, True)

    async def departed(self, sid: str) -> None:
        user_id, username = self.local.pop(sid, ("", ""))
        if user_id:
            await self._remove(user_id, sid, username)

    async def is_online(self, user_id: str) -> bool:
        return await self.sockets_of(user_id) > 0

    async def sockets_of(self, user_id: str) -> int:
        """The user's connected sockets, on every node."""
        return int(await self.redis.zcount(self._user(user_id), time.time(), "+inf"))

    async def online(self, user_ids: list[str]) -> list[str]:
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.zcount(self._user(user_id), now, "+inf")
            counts = await pipe.execute()
        return [user_id for user_id, count in zip(user_ids, counts, strict=True) if count > 0]

    async def _remove(self, user_id: str, sid: str, username: str) -> None:
        removed = await self.redis.zrem(self._all, f"{user_id}|{sid}")
        await self.redis.zrem(self._user(user_id), sid)
        if removed and not await self.is_online(user_id):
            name = username or str(await self.redis.hget(self._names, user_id) or "")
            await self.announce(user_id, name, False)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await self._refresh()
                await self._sweep()
            except Exception:  # noqa: BLE001 - presence must outlive a Redis hiccup
                log.exception("presence upkeep failed")

    async def _refresh(self) -> None:
        if not self.local:
            return
        expires = time.time() + self.ttl
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid, (user_id, _) in list(self.local.items()):
                pipe.zadd(self._user(user_id), {sid: expires}, xx=True)
                pipe.zadd(self._all, {f"{user_id}|{sid}": expires}, xx=True)
            await pipe.execute()

    async def _sweep(self) -> None:
        expired = await self.redis.zrangebyscore(self._all, "-inf", time.time(), start=0, num=500)
        for entry in expired:
            user_id, _, sid = str(entry).partition("|")
            await self._remove(user_id, sid, "")

    def _user(self, user_id: str) -> str:
        return f"{self._prefix}{user_id}"
