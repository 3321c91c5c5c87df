"""The Socket.IO Redis manager the gateway nodes share, for what is not in the event log:
typing, presence and anything else emitted to another node's sockets."""

from __future__ import annotations

import asyncio
import contextlib

import socketio


class RedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    def listening(self) -> bool:
        """True while the listener for other nodes' broadcasts runs."""
        thread = getattr(self, "thread", None)
        return thread is not None and not thread.done()

    async def close(self) -> None:
        """Stop listening and close the Redis connections (``sio.shutdown`` does neither)."""
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await thread
        if self.pubsub is not None:
            await self.pubsub.aclose()
        if self.redis is not None:
            await self.redis.aclose()
