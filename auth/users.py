"""The ``users`` collection: one document per account, unique by lower-cased username."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError


class UsernameTaken(Exception):
    """Another account already has this username, in any letter case."""


@dataclass(frozen=True)
class User:
    user_id: str
    username: str
    password_hash: str
    created_at: datetime


def username_key(username: str) -> str:
    """The form usernames are compared in: ``Alice`` and ``alice`` are one account."""
    return username.lower()


def _now_ms() -> datetime:
    # BSON dates hold milliseconds; truncating here means what we return is what we stored.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _user(document: dict[str, Any]) -> User:
    created_at: datetime = document["created_at"]
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    return User(
        user_id=document["_id"],
        username=document["username"],
        password_hash=document["password_hash"],
        created_at=created_at,
    )


class UserRepository:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._users = database["users"]

    async def create_indexes(self) -> None:
        # The unique index, not a lookup before insert, is what keeps usernames unique under
        # concurrent registrations.
        await self._users.create_index("username_key", unique=True, name="username_key_unique")

    async def add(self, username: str, password_hash: str) -> User:
        """Store a new account; raise ``UsernameTaken`` if the username is in use."""
        user = User(
            user_id=uuid.uuid4().hex,
            username=username,
            password_hash=password_hash,
            created_at=_now_ms(),
        )
        try:
            await self._users.insert_one(
                {
                    "_id": user.user_id,
                    "username": user.username,
                    "username_key": username_key(username),
                    "password_hash": user.password_hash,
                    "created_at": user.created_at,
                }
            )
        except DuplicateKeyError as exc:
            raise UsernameTaken(username) from exc
        return user

    async def by_username(self, username: str) -> User | None:
        document = await self._users.find_one({"username_key": username_key(username)})
        return _user(document) if document else None

    async def by_id(self, user_id: str) -> User | None:
        document = await self._users.find_one({"_id": user_id})
        return _user(document) if document else None

    async def replace_password_hash(self, user_id: str, old_hash: str, new_hash: str) -> None:
        """Swap in a rehashed password, unless the password changed meanwhile."""
        await self._users.update_one(
            {"_id": user_id, "password_hash": old_hash}, {"$set": {"password_hash": new_hash}}
        )
