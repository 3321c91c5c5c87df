"""Telling the gateways that a person's sessions are revoked (``records.revocations``)."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from records.revocations import SessionsRevoked, revoked_key

log = logging.getLogger(__name__)


class SessionRevocations:
    def __init__(self, redis: Redis | None, channel: str, token_ttl: int) -> None:
        self.redis = redis
        self.channel = channel
        self.token_ttl = token_ttl

    async def revoke(self, user_id: str) -> None:
        """From now, the person's access tokens open no socket and their open sockets close.
        Without Redis (not configured, or away) the sockets live until their tokens expire."""
        if self.redis is None:
            log.warning("no REDIS_URL: %s's open sockets stay until their tokens expire", user_id)
            return
        event = SessionsRevoked(user_id=user_id, before=time.time())
        try:
            await self.redis.set(
                revoked_key(self.channel, user_id), event.before, ex=self.token_ttl
            )
            await self.redis.publish(self.channel, event.to_json())
        except RedisError:
            log.exception("could not tell the gateways that %s's sessions are revoked", user_id)
