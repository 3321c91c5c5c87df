"""Socket.IO handlers of groups and membership: create, join (with recovery), leave,
invite, remove, and the queries ``groups``, ``find_groups`` and ``members``."""

from __future__ import annotations

import time
import uuid
from typing import Any

from gateway.commands import (
    CommandError,
    CreateGroupCommand,
    FindGroupsCommand,
    InGroup,
    InviteCommand,
    JoinCommand,
    NoArguments,
    RemoveMemberCommand,
    RevokeCommand,
    parse,
)
from gateway.delivery import group_room
from gateway.handling import NamespaceBase, Reply, acknowledged
from records.requests import (
    CreateGroup,
    DeclineInvitation,
    InviteMember,
    JoinGroup,
    LeaveGroup,
    RemoveMember,
    RevokeInvitation,
)


class GroupHandlers(NamespaceBase):
    @acknowledged
    async def on_create_group(self, sid: str, data: Any = None) -> Reply:
        command = parse(CreateGroupCommand, data)
        user = await self.get_session(sid)
        group_id = uuid.uuid4().hex
        await self._ask(
            CreateGroup(
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
        command = parse(JoinCommand, data)
        user = await self.get_session(sid)
        # The agents decide membership (a member asking again changes nothing): never the
        # view, which may not show a removal or a join yet.
        joined = await self._ask(
            JoinGroup(group_id=command.group_id, **self._actor(sid, user))
        )
        seq, change, more = await self._follow(
            sid,
            command.group_id,
            command.since_seq,
            command.since_change,
            member=(user["user_id"], joined.version or 0),
        )
        if more:
            return {"ok": True, "group_id": command.group_id, "last_seq": seq,
                    "last_change": change, "more": True}  # fmt: skip
        return {"ok": True, "group_id": command.group_id, "last_seq": seq, "last_change": change,
                "more": False}  # fmt: skip

    @acknowledged
    async def on_leave(self, sid: str, data: Any = None) -> Reply:
        command = parse(InGroup, data)
        user = await self.get_session(sid)
        await self._ask(LeaveGroup(group_id=command.group_id, **self._actor(sid, user)))
        self.gate.unfollow(sid, command.group_id)
        await self.leave_room(sid, group_room(command.group_id))
        return {"ok": True, "group_id": command.group_id}

    @acknowledged
    async def on_invite(self, sid: str, data: Any = None) -> Reply:
        command = parse(InviteCommand, data)
        if (command.user_id is None) == (command.username is None):
            raise CommandError("invalid_payload", "give exactly one of user_id and username")
        user = await self.get_session(sid)
        await self._member_group(sid, user, command.group_id)
        invitee = await self.directory.find(username=command.username, user_id=command.user_id)
        # Bounded per person, whoever invites: no one can grow another's list without end.
        # (The views may trail by a moment; the rate of invitations bounds that overshoot.)
        if await self.reads.pending_invitations(invitee.user_id) >= (
            limit := self.settings.max_invitations_per_user
        ):
            raise CommandError(
                "too_many_invitations", f"{invitee.username} has {limit} invitations pending"
            )
        await self._ask(
            InviteMember(
                group_id=command.group_id,
                invitee_id=invitee.user_id,
                invitee=invitee.username,
                **self._actor(sid, user),
            )
        )
        return {"ok": True, "group_id": command.group_id, "user_id": invitee.user_id}

    @acknowledged
    async def on_decline(self, sid: str, data: Any = None) -> Reply:
        """Turn down an invitation to the group."""
        command = parse(InGroup, data)
        user = await self.get_session(sid)
        await self._ask(DeclineInvitation(group_id=command.group_id, **self._actor(sid, user)))
        return {"ok": True, "group_id": command.group_id}

    @acknowledged
    async def on_revoke(self, sid: str, data: Any = None) -> Reply:
        """Take back an invitation (the inviter or the owner)."""
        command = parse(RevokeCommand, data)
        user = await self.get_session(sid)
        await self._ask(
            RevokeInvitation(
                group_id=command.group_id, invitee_id=command.user_id, **self._actor(sid, user)
            )
        )
        return {"ok": True, "group_id": command.group_id, "user_id": command.user_id}

    @acknowledged
    async def on_remove_member(self, sid: str, data: Any = None) -> Reply:
        command = parse(RemoveMemberCommand, data)
        user = await self.get_session(sid)
        await self._ask(
            RemoveMember(
                group_id=command.group_id, member_id=command.user_id, **self._actor(sid, user)
            )
        )
        return {"ok": True, "group_id": command.group_id, "user_id": command.user_id}

    @acknowledged
    async def on_groups(self, sid: str, data: Any = None) -> Reply:
        parse(NoArguments, data if data is not None else {})
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
        command = parse(FindGroupsCommand, data if data is not None else {})
        await self.delivery.views_caught_up()  # a group created a moment ago is found
        groups = await self.reads.public_groups(command.query, limit=20)
        return {"ok": True, "groups": [g.to_client() for g in groups]}

    @acknowledged
    async def on_members(self, sid: str, data: Any = None) -> Reply:
        command = parse(InGroup, data)
        group = await self._member_group(sid, await self.get_session(sid), command.group_id)
        return {"ok": True, "group_id": group.group_id, "members": group.members_to_client()}

    async def _follow(
        self,
        sid: str,
        group_id: str,
        since_seq: int | None,
        since_change: int | None,
        *,
        member: tuple[str, int] | None = None,
    ) -> tuple[int, int, bool]:
        """Enter the group's room, then send what the socket missed: messages after
        ``since_seq``, edits and deletes after ``since_change`` (from now, when not given).
        Returns the last ``seq`` and ``change`` now sent, and False. ``member``: the user and
        the group's version the agents answered their join at; a departure this node read
        after it refuses with ``not_a_member`` before anything of the group is sent.

        More than ``catch_up_limit`` messages missed: the first ``catch_up_limit`` of them are
        sent, the socket does not follow the group yet, and the third value is True; the client
        pages the rest with ``history`` + ``after_seq`` and joins again from where it is.

        Live events are held from before the socket enters the room until the views have
        filled everything up to the newest position known (``Delivery.fill``), so an event
        is either filled or released after, and nothing is missed or doubled.
        """
        group = await self.delivery.current_group(group_id)
        if group is not None and (
            (since_seq or 0) > max(group.last_seq, self.gate.head(group_id, "seq"))
            or (since_change or 0) > max(group.last_change, self.gate.head(group_id, "change"))
        ):
            # The client has seen more than this node knows of yet (a node that started a
            # moment ago reads the log from its end): wait, briefly, for the views to catch up
            # with the client rather than send it again what it has.
            group = await self.reads.group(group_id, seq=since_seq or 0, change=since_change or 0)
        newest = {
            "seq": max(group.last_seq if group else 0, self.gate.head(group_id, "seq")),
            "change": max(group.last_change if group else 0, self.gate.head(group_id, "change")),
        }
        def departed() -> bool:
            return member is not None and self.gate.departed_after(member[0], group_id, member[1])

        # A client cannot have seen past the newest position: a cursor beyond it (another
        # deployment's, say) would hide the messages to come.
        seq = newest["seq"] if since_seq is None else min(since_seq, newest["seq"])
        change = newest["change"] if since_change is None else min(since_change, newest["change"])
        if newest["seq"] - seq > self.settings.catch_up_limit:
            last = seq + self.settings.catch_up_limit
            deadline = time.monotonic() + self.settings.gap_timeout
            try:
                async for message in self.reads.messages_between(group_id, seq + 1, last):
                    if departed():
                        raise _no_longer_member()
                    await self.delivery.paced(sid, deadline)
                    await self.emit("message", message, to=sid, ignore_queue=True)
                    seq = int(message["seq"])
            except TimeoutError:
                # It does not read what it asked for: dropped, as a socket that stops reading
                # live messages is (``gateway.backpressure``).
                await self.disconnect(sid)
                raise CommandError("too_slow", "the client did not read its catch-up") from None
            return seq, change, True
        stream = self.gate.follow(sid, group_id, seq, change, hold=True)
        await self.enter_room(sid, group_room(group_id))
        if departed():
            # Removed (or left on another device) between the agents' answer and entering the
            # room: this node handled the removal before the socket was in the room, so undo
            # it here, before anything of the group is sent to it.
            self.gate.unfollow(sid, group_id)
            await self.leave_room(sid, group_room(group_id))
            raise _no_longer_member()
        await self.delivery.fill(sid, group_id)
        return stream.cursors["seq"], stream.cursors["change"], False


def _no_longer_member() -> CommandError:
    return CommandError("not_a_member", "you are no longer a member of this group")
