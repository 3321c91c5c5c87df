"""Socket.IO handlers of groups and membership: create, join (with recovery), leave,
invite, remove, and the queries ``groups``, ``find_groups`` and ``members``."""

from __future__ import annotations

import uuid
from typing import Any

from gateway.commands import (
    CommandError,
    CreateGroup,
    FindGroups,
    InGroup,
    Invite,
    Join,
    RemoveMember,
    parse,
)
from gateway.delivery import group_room
from gateway.handling import NamespaceBase, Reply, acknowledged
from records.requests import (
    GroupCreationRequested,
    InvitationRequested,
    JoinRequested,
    LeaveRequested,
    RemovalRequested,
)


class GroupHandlers(NamespaceBase):
    @acknowledged
    async def on_create_group(self, sid: str, data: Any = None) -> Reply:
        command = parse(CreateGroup, data)
        user = await self.get_session(sid)
        group_id = uuid.uuid4().hex
        await self._ask(
            GroupCreationRequested(
                group_id=group_id,
                name=command.name,
                private=command.private,
                **self._actor(sid, user),
            )
        )
        self.gate.follow(sid, group_id, 0, 0, hold=False)
        await self.enter_room(sid, group_room(group_id))
        return {"ok": True, "group_id": group_id}

    @acknowledged
    async def on_join(self, sid: str, data: Any = None) -> Reply:
        """Become a member if needed, then follow the group: from ``since_seq`` and
        ``since_change`` when given (everything after them first, then live), else from now."""
        command = parse(Join, data)
        user = await self.get_session(sid)
        # The agents decide membership (a member asking again changes nothing): never the
        # view, which may not show a removal or a join yet.
        await self._ask(JoinRequested(group_id=command.group_id, **self._actor(sid, user)))
        seq, change = await self._follow(
            sid, command.group_id, command.since_seq, command.since_change
        )
        return {"ok": True, "group_id": command.group_id, "last_seq": seq, "last_change": change}

    @acknowledged
    async def on_leave(self, sid: str, data: Any = None) -> Reply:
        command = parse(InGroup, data)
        user = await self.get_session(sid)
        await self._ask(LeaveRequested(group_id=command.group_id, **self._actor(sid, user)))
        self.gate.unfollow(sid, command.group_id)
        await self.leave_room(sid, group_room(command.group_id))
        return {"ok": True, "group_id": command.group_id}

    @acknowledged
    async def on_invite(self, sid: str, data: Any = None) -> Reply:
        command = parse(Invite, data)
        if (command.user_id is None) == (command.username is None):
            raise CommandError("invalid_payload", "give exactly one of user_id and username")
        user = await self.get_session(sid)
        await self._member_group(sid, user, command.group_id)
        invitee = await self.directory.find(username=command.username, user_id=command.user_id)
        await self._ask(
            InvitationRequested(
                group_id=command.group_id,
                invitee_id=invitee.user_id,
                invitee=invitee.username,
                **self._actor(sid, user),
            )
        )
        return {"ok": True, "group_id": command.group_id, "user_id": invitee.user_id}

    @acknowledged
    async def on_remove_member(self, sid: str, data: Any = None) -> Reply:
        command = parse(RemoveMember, data)
        user = await self.get_session(sid)
        await self._ask(
            RemovalRequested(
                group_id=command.group_id, member_id=command.user_id, **self._actor(sid, user)
            )
        )
        return {"ok": True, "group_id": command.group_id, "user_id": command.user_id}

    @acknowledged
    async def on_groups(self, sid: str, data: Any = None) -> Reply:
        user = await self.get_session(sid)
        await self._after_changes_to(user["user_id"])
        groups = await self.reads.groups_of(user["user_id"])
        return {
            "ok": True,
            "groups": [g.to_client(user["user_id"]) for g in groups],
            "invitations": await self.reads.invitations_of(user["user_id"]),
        }

    @acknowledged
    async def on_find_groups(self, sid: str, data: Any = None) -> Reply:
        command = parse(FindGroups, data if data is not None else {})
        await self.delivery.views_caught_up()  # a group created a moment ago is found
        groups = await self.reads.public_groups(command.query, limit=20)
        return {"ok": True, "groups": [g.to_client() for g in groups]}

    @acknowledged
    async def on_members(self, sid: str, data: Any = None) -> Reply:
        command = parse(InGroup, data)
        group = await self._member_group(sid, await self.get_session(sid), command.group_id)
        return {"ok": True, "group_id": group.group_id, "members": group.members_to_client()}

    async def _follow(
        self, sid: str, group_id: str, since_seq: int | None, since_change: int | None
    ) -> tuple[int, int]:
        """Enter the group's room, then send what the socket missed: messages after
        ``since_seq``, edits and deletes after ``since_change`` (from now, when not given).
        Returns the last ``seq`` and ``change`` now sent.

        Live events are held from before the socket enters the room until the views have
        filled everything up to the newest position known (``Delivery.fill``), so an event
        is either filled or released after, and nothing is missed or doubled.
        """
        group = await self.delivery.current_group(group_id)
        newest = {
            "seq": max(group.last_seq if group else 0, self.gate.head(group_id, "seq")),
            "change": max(group.last_change if group else 0, self.gate.head(group_id, "change")),
        }
        # A client cannot have seen past the newest position: a cursor beyond it (another
        # deployment's, say) would hide the messages to come.
        seq = newest["seq"] if since_seq is None else min(since_seq, newest["seq"])
        change = newest["change"] if since_change is None else min(since_change, newest["change"])
        stream = self.gate.follow(sid, group_id, seq, change, hold=True)
        await self.enter_room(sid, group_room(group_id))
        await self.delivery.fill(sid, group_id)
        return stream.cursors["seq"], stream.cursors["change"]
