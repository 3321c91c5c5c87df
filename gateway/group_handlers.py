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
from gateway.delivery import Stream, group_room
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
        group = await self.reads.group(command.group_id)
        if group is None:
            raise CommandError("group_not_found", f"there is no group {command.group_id!r}")
        if user["user_id"] not in group.members:
            await self._ask(JoinRequested(group_id=group.group_id, **self._actor(sid, user)))
        seq, change = await self._follow(
            sid, group.group_id, command.since_seq, command.since_change
        )
        return {"ok": True, "group_id": group.group_id, "last_seq": seq, "last_change": change}

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
        groups = await self.reads.groups_of(user["user_id"])
        return {
            "ok": True,
            "groups": [g.to_client(user["user_id"]) for g in groups],
            "invitations": await self.reads.invitations_of(user["user_id"]),
        }

    @acknowledged
    async def on_find_groups(self, sid: str, data: Any = None) -> Reply:
        command = parse(FindGroups, data if data is not None else {})
        groups = await self.reads.public_groups(command.query, limit=20)
        return {"ok": True, "groups": [g.to_client() for g in groups]}

    @acknowledged
    async def on_members(self, sid: str, data: Any = None) -> Reply:
        command = parse(InGroup, data)
        group = await self._member_group(sid, await self.get_session(sid), command.group_id)
        members = [
            {"user_id": uid, "username": m["username"], "role": m["role"]}
            for uid, m in sorted(group.members.items(), key=lambda item: item[1]["username"])
        ]
        return {"ok": True, "group_id": group.group_id, "members": members}

    async def _follow(
        self, sid: str, group_id: str, since_seq: int | None, since_change: int | None
    ) -> tuple[int, int]:
        """Enter the group's room; with ``since_seq`` (and ``since_change``), first send what
        the socket missed: messages after ``since_seq``, edits and deletes after
        ``since_change``. Returns the last ``seq`` and ``change`` now sent or current.

        The socket enters the room before anything is read, with live events held, so an
        event is either in what is read (saved before) or among those held (after): the held
        ones are released past the last one sent, and nothing is missed or doubled.
        """
        group = await self.reads.group(group_id)
        last = (group.last_seq, group.last_change) if group else (0, 0)
        if since_seq is None and since_change is None:
            self.gate.follow(sid, group_id, *last, hold=False)
            await self.enter_room(sid, group_room(group_id))
            return last
        seq = last[0] if since_seq is None else since_seq
        change = last[1] if since_change is None else since_change
        stream = self.gate.follow(sid, group_id, seq, change, hold=True)
        await self.enter_room(sid, group_room(group_id))
        await self._catch_up(sid, group_id, stream)
        while stream.held:
            held, stream.held = stream.held, []
            for event, payload in sorted(held, key=_replay_order):
                if stream.is_new(event, payload):
                    await self.emit(event, payload, to=sid, ignore_queue=True)
        stream.held = None
        return stream.cursors["seq"], stream.cursors["change"]

    async def _catch_up(self, sid: str, group_id: str, stream: Stream) -> None:
        """Send every stored message, then every change, past the stream's cursors."""
        while True:
            group = await self.reads.group(group_id)
            if group is None:
                return
            seq, change = stream.cursors["seq"], stream.cursors["change"]
            if group.last_seq <= seq and group.last_change <= change:
                return
            async for message in self.reads.messages_between(group_id, seq + 1, group.last_seq):
                if stream.is_new("message", message):
                    await self.emit("message", message, to=sid, ignore_queue=True)
            async for event, payload in self.reads.changes_between(
                group_id, change + 1, group.last_change
            ):
                if stream.is_new(event, payload):
                    await self.emit(event, payload, to=sid, ignore_queue=True)


def _replay_order(item: tuple[str, dict[str, Any]]) -> tuple[int, int]:
    """Held events go out messages first (by ``seq``), then changes (by ``change``)."""
    event, payload = item
    return (0, int(payload["seq"])) if event == "message" else (1, int(payload.get("change") or 0))
