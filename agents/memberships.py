"""Who is in which group, in both directions: the group's document (``members``,
``invited``, its membership ``version``) and each user's (``groups``, ``invited``), with the
public groups' search entries; and who blocks whom (the direct conversation's ``blocked_by``,
the blocker's ``blocked``). The documents' shapes are ``records.views``'.

A person's own documents are written first, the group's (with its version) last: a reader
that sees the version sees everything the fact wrote.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from agents.unread import UnreadCounts
from records.facts import (
    DirectOpened,
    GroupCreated,
    InvitationDeclined,
    InvitationRevoked,
    MemberInvited,
    MemberJoined,
    MemberLeft,
    MemberRemoved,
    MembershipFact,
    UserBlocked,
    UserUnblocked,
)
from records.views import (
    PUBLIC_GROUPS,
    block_entry,
    group_view,
    invitation_entry,
    member_entry,
    new_direct_document,
    new_group_document,
    pending_invitation,
    public_group_document,
    user_group_entry,
    user_view,
)


class Memberships:
    """The group and user documents of one database."""

    def __init__(self, database: AsyncDatabase[dict[str, Any]], unread: UnreadCounts) -> None:
        self.database = database
        self.unread = unread
        self.public_groups = database[PUBLIC_GROUPS]

    def group_view(self, group_id: str) -> AsyncCollection[dict[str, Any]]:
        return group_view(self.database, group_id)

    def user_view(self, user_id: str) -> AsyncCollection[dict[str, Any]]:
        return user_view(self.database, user_id)

    async def created(self, fact: GroupCreated) -> None:
        # The owner's document and the public entry first, the group's (with its version)
        # last: a reader that sees the version sees everything the fact wrote (``find_groups``
        # right after ``create_group`` finds the group).
        await self._link(fact.owner_id, fact.group_id, fact.occurred_at)
        if not fact.private:
            await self.public_groups.update_one(
                {"_id": fact.group_id}, {"$set": public_group_document(fact)}, upsert=True
            )
        await self.group_view(fact.group_id).update_one(
            {"_id": fact.group_id}, {"$setOnInsert": new_group_document(fact)}, upsert=True
        )

    async def direct_opened(self, fact: DirectOpened) -> None:
        """Both people's documents first, the conversation's (with its version) last, written
        once however often the fact is applied; never a public entry: no one finds it."""
        for user_id in (fact.user_id, fact.peer_id):
            await self._link(user_id, fact.group_id, fact.occurred_at)
        await self.group_view(fact.group_id).update_one(
            {"_id": fact.group_id}, {"$setOnInsert": new_direct_document(fact)}, upsert=True
        )

    async def blocked(self, fact: UserBlocked) -> None:
        # The conversation's document first (a send into it reads it), the blocker's last
        # (``block`` waits for it): a block acknowledged is in both. A conversation not
        # begun has no document and gets none: it cannot begin while the block lasts.
        await self.group_view(fact.group_id).update_one(
            {"_id": fact.group_id}, {"$addToSet": {"blocked_by": fact.by_id}}
        )
        await self.user_view(fact.by_id).update_one(
            {"_id": fact.by_id},
            {"$set": {f"blocked.{fact.user_id}": block_entry(fact)}},
            upsert=True,
        )

    async def unblocked(self, fact: UserUnblocked) -> None:
        await self.group_view(fact.group_id).update_one(
            {"_id": fact.group_id}, {"$pull": {"blocked_by": fact.by_id}}
        )
        await self.user_view(fact.by_id).update_one(
            {"_id": fact.by_id}, {"$unset": {f"blocked.{fact.user_id}": ""}}
        )

    async def invited(self, fact: MemberInvited) -> None:
        await self.user_view(fact.user_id).update_one(
            {"_id": fact.user_id},
            {"$set": {f"invited.{fact.group_id}": pending_invitation(fact)}},
            upsert=True,
        )
        await self.group_view(fact.group_id).update_one(
            {"_id": fact.group_id},
            {"$set": {f"invited.{fact.user_id}": invitation_entry(fact)}, **_version(fact)},
        )

    async def joined(self, fact: MemberJoined) -> None:
        await self._link(fact.user_id, fact.group_id, fact.occurred_at)
        member = member_entry(fact.username, "member", fact.occurred_at, fact.read_seq)
        await self.group_view(fact.group_id).update_one(
            {"_id": fact.group_id},
            {
                "$set": {f"members.{fact.user_id}": member},
                "$unset": {f"invited.{fact.user_id}": ""},
                **_version(fact),
            },
        )
        # Projected again (a stretch of the log replayed), the messages after the join are
        # behind ``counted_seq`` and would not be counted again: recount them.
        await self.unread.recount(fact.group_id, {fact.user_id: fact.read_seq})

    async def left(self, fact: MemberLeft | MemberRemoved) -> None:
        await self.user_view(fact.user_id).update_one(
            {"_id": fact.user_id}, {"$unset": {f"groups.{fact.group_id}": ""}}
        )
        await self.group_view(fact.group_id).update_one(
            {"_id": fact.group_id}, {"$unset": {f"members.{fact.user_id}": ""}, **_version(fact)}
        )

    async def uninvited(self, fact: InvitationDeclined | InvitationRevoked) -> None:
        await self.user_view(fact.user_id).update_one(
            {"_id": fact.user_id}, {"$unset": {f"invited.{fact.group_id}": ""}}
        )
        await self.group_view(fact.group_id).update_one(
            {"_id": fact.group_id}, {"$unset": {f"invited.{fact.user_id}": ""}, **_version(fact)}
        )

    async def _link(self, user_id: str, group_id: str, at: datetime) -> None:
        await self.user_view(user_id).update_one(
            {"_id": user_id},
            {
                "$set": {f"groups.{group_id}": user_group_entry(at)},
                "$unset": {f"invited.{group_id}": ""},
            },
            upsert=True,
        )


def _version(fact: MembershipFact) -> dict[str, Any]:
    """The group's membership version moves forward only, however often a fact is applied."""
    return {"$max": {"version": fact.version}}
