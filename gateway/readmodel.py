"""Reads of the projections the agents maintain, all by ``_id``.

The gateway never writes these collections: changes go through Kafka as requests, and come
back as facts. History is read page by page (100 messages to a page document), so any page
costs one or two reads by ``_id`` whatever the size of the group.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

PAGE_SIZE = 100
"""As the agents write them (``agents.projections.PAGE_SIZE``)."""


@dataclass(frozen=True)
class Group:
    group_id: str
    name: str
    private: bool
    owner_id: str
    last_seq: int
    last_change: int
    members: dict[str, dict[str, Any]]
    invited: dict[str, dict[str, Any]]

    def to_client(self, user_id: str | None = None) -> dict[str, Any]:
        role = self.members.get(user_id or "", {}).get("role")
        return {
            "group_id": self.group_id,
            "name": self.name,
            "private": self.private,
            "owner_id": self.owner_id,
            "last_seq": self.last_seq,
            "last_change": self.last_change,
            "members": len(self.members),
            "role": role,
        }


class ReadModel:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.groups = database["groups"]
        self.user_groups = database["user_groups"]
        self.pages = database["message_pages"]
        self.changes = database["message_changes"]

    async def group(self, group_id: str) -> Group | None:
        doc = await self.groups.find_one({"_id": group_id})
        if doc is None:
            return None
        return Group(
            group_id=doc["_id"],
            name=doc["name"],
            private=bool(doc["private"]),
            owner_id=doc["owner_id"],
            last_seq=int(doc.get("last_seq", 0)),
            last_change=int(doc.get("last_change", 0)),
            members=doc.get("members", {}),
            invited=doc.get("invited", {}),
        )

    async def group_ids_of(self, user_id: str) -> list[str]:
        doc = await self.user_groups.find_one({"_id": user_id})
        return sorted((doc or {}).get("groups", {}))

    async def invitations_of(self, user_id: str) -> list[dict[str, Any]]:
        """Pending invitations: to private groups the user may now join."""
        doc = await self.user_groups.find_one({"_id": user_id})
        invited = (doc or {}).get("invited", {})
        return [
            {"group_id": group_id, "name": i["name"], "by_id": i["by_id"], "by": i["by"]}
            for group_id, i in sorted(invited.items())
        ]

    async def groups_of(self, user_id: str) -> list[Group]:
        groups = [await self.group(group_id) for group_id in await self.group_ids_of(user_id)]
        return [g for g in groups if g is not None and user_id in g.members]

    async def public_groups(self, query: str, limit: int) -> list[Group]:
        needle = query.casefold()
        found: list[Group] = []
        async for doc in self.groups.find({"private": False}, {"_id": 1, "name": 1}):
            if needle in str(doc["name"]).casefold():
                group = await self.group(doc["_id"])
                if group is not None:
                    found.append(group)
            if len(found) >= limit:
                break
        return found

    async def history(
        self, group: Group, before_seq: int | None, limit: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Up to ``limit`` messages with ``seq < before_seq`` (the newest when None), newest
        first, and the cursor for the page before them (None at the start)."""
        before = before_seq or group.last_seq + 1
        newest, oldest = before - 1, max(1, before - limit)
        messages = (
            [m async for m in self.messages_between(group.group_id, oldest, newest)]
            if newest >= 1
            else []
        )
        messages.reverse()
        first = messages[-1]["seq"] if messages else before
        return messages, first if first > 1 else None

    async def changes_between(
        self, group_id: str, first: int, last: int
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Edits and deletes with ``first <= change <= last``, in order, as clients get them."""
        for change in range(first, last + 1):
            doc = await self.changes.find_one({"_id": f"{group_id}:{change}"})
            if doc is not None:
                yield change_to_client(doc)

    async def messages_between(
        self, group_id: str, first: int, last: int
    ) -> AsyncIterator[dict[str, Any]]:
        """Messages with ``first <= seq <= last``, oldest first, as clients receive them."""
        for page in range((first - 1) // PAGE_SIZE, (last - 1) // PAGE_SIZE + 1):
            doc = await self.pages.find_one({"_id": f"{group_id}:{page}"})
            slots = (doc or {}).get("m", {})
            for slot in sorted(slots, key=int):
                view = slots[slot]
                if first <= int(view["seq"]) <= last:
                    yield to_client(group_id, view)


def change_to_client(change: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A stored change as the live event it was: ``message_edited`` or ``message_deleted``."""
    at = _iso(change["at"])
    payload = {key: change[key] for key in ("group_id", "message_id", "seq", "change")}
    if change["deleted"]:
        return "message_deleted", {**payload, "deleted_at": at}
    return "message_edited", {**payload, "body": change["body"], "edited_at": at}


def _iso(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


def to_client(group_id: str, view: dict[str, Any]) -> dict[str, Any]:
    """A page slot as the ``message`` payload (times as ISO 8601 strings, like live ones)."""
    payload = {key: value for key, value in view.items() if key != "deleted_at"}
    payload["group_id"] = group_id
    for key in ("saved_at", "edited_at"):
        if payload.get(key) is not None:
            payload[key] = _iso(payload[key])
    return payload
