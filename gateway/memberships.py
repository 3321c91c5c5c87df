"""Who belongs to which group, in MongoDB.

Both directions are stored under ``_id`` keys, so checking a member and listing a user's
groups are single-document lookups on any MongoDB-protocol server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase


class Memberships:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.members = database["memberships"]
        self.user_groups = database["user_groups"]

    async def join(self, group_id: str, user_id: str) -> None:
        """Make the user a member; joining twice changes nothing."""
        now = datetime.now(UTC)
        await self.members.update_one(
            {"_id": _key(group_id, user_id)},
            {"$setOnInsert": {"group_id": group_id, "user_id": user_id, "joined_at": now}},
            upsert=True,
        )
        await self.user_groups.update_one(
            {"_id": user_id}, {"$addToSet": {"group_ids": group_id}}, upsert=True
        )

    async def is_member(self, group_id: str, user_id: str) -> bool:
        return await self.members.find_one({"_id": _key(group_id, user_id)}) is not None

    async def groups_of(self, user_id: str) -> list[str]:
        doc = await self.user_groups.find_one({"_id": user_id})
        return list(doc.get("group_ids", [])) if doc else []


def _key(group_id: str, user_id: str) -> str:
    return f"{group_id}/{user_id}"
