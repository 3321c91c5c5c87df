"""The ``refresh_tokens`` collection: one document per refresh token issued, keyed by its jti.

A refresh token is single-use. Presenting one that was already used means two parties hold
it, so, as in OAuth 2.0 refresh-token reuse detection, all of that user's refresh tokens are
revoked and everyone has to log in again.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from records.tokens import TokenClaims


class Consumed(enum.Enum):
    FIRST_USE = "first_use"
    RETRIED = "retried"
    """Used already, moments ago, from the same address: a retry, not a theft."""
    REUSED = "reused"
    UNKNOWN = "unknown"


class RefreshTokenRepository:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._tokens = database["refresh_tokens"]

    async def create_indexes(self) -> None:
        await self._tokens.create_index("user_id", name="user_id")

    async def add(self, claims: TokenClaims) -> None:
        await self._tokens.insert_one(
            {
                "_id": claims.token_id,
                "user_id": claims.user_id,
                "issued_at": claims.issued_at,
                "expires_at": claims.expires_at,
                "used_at": None,
                "revoked_at": None,
            }
        )

    async def consume(self, token_id: str, address: str = "", grace: float = 0.0) -> Consumed:
        """Mark the token used, atomically: of two concurrent uses only one is the first.
        A second use within ``grace`` seconds from the same ``address`` is a retry (a lost
        answer, a second tab): ``RETRIED``, and the caller issues a fresh pair again."""
        now = datetime.now(UTC)
        document = await self._tokens.find_one_and_update(
            {"_id": token_id, "used_at": None, "revoked_at": None},
            {"$set": {"used_at": now, "used_by": address}},
        )
        if document is not None:
            return Consumed.FIRST_USE
        known = await self._tokens.find_one(
            {"_id": token_id}, projection={"used_at": 1, "used_by": 1, "revoked_at": 1}
        )
        if known is None:
            return Consumed.UNKNOWN
        used_at = known.get("used_at")
        if (
            known.get("revoked_at") is None
            and used_at is not None
            and known.get("used_by") == address
            and (now - _aware(used_at)).total_seconds() <= grace
        ):
            return Consumed.RETRIED
        return Consumed.REUSED

    async def revoke(self, token_id: str) -> None:
        """Spend the token for good (logout): not even a retry may use it after this."""
        now = datetime.now(UTC)
        await self._tokens.update_one(
            {"_id": token_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )

    async def revoke_all(self, user_id: str) -> int:
        """Revoke every live refresh token of the user; return how many."""
        result = await self._tokens.update_many(
            {"user_id": user_id, "used_at": None, "revoked_at": None},
            {"$set": {"revoked_at": datetime.now(UTC)}},
        )
        return result.modified_count

    async def purge_expired(self, user_id: str) -> None:
        """Forget the user's expired tokens (a TTL index would do this, but not on FerretDB)."""
        await self._tokens.delete_many(
            {"user_id": user_id, "expires_at": {"$lt": datetime.now(UTC)}}
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
