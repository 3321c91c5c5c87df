"""Handlers of groups and membership: ``create_group``, ``join`` (with recovery), ``leave``,
``invite``, ``decline``, ``revoke``, ``remove_member``, and the queries ``groups``,
``find_groups`` and ``members``.

Changes wait for the agents' answer; the agents decide membership, never the views.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from gateway.client_events import group_to_client, members_to_client
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
from gateway.handling.namespace import ChatNamespace, Reply, handles
from gateway.rooms import group_room
from records.direct import is_direct_group_id
from records.requests import (
    CreateGroup,
    DeclineInvitation,
    InviteMember,
    JoinGroup,
    LeaveGroup,
    RemoveMember,
    RevokeInvitation,
)


@handles("create_group", bucket="change")
async def create_group(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    command = parse(CreateGroupCommand, data)
    user = await ns.get_session(sid)
    group_id = uuid.uuid4().hex
    await ns.ask(
        CreateGroup(
            group_id=group_id,
            name=command.name,
            private=command.private,
            **ns.actor(sid, user),
        )
    )
    ns.gate.follow(sid, group_id, 0, 0, hold=False)
    await ns.enter_room(sid, group_room(group_id))
    return {"ok": True, "group_id": group_id}


# ``join`` takes from ``read``: it is also how a reconnecting client follows each of its groups
# again, all at once.
@handles("join", bucket="read")
async def join(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    """Become a member if needed, then follow the group: from ``since_seq`` and
    ``since_change`` when given (everything after them first, then live), else from now."""
    command = parse(JoinCommand, data)
    user = await ns.get_session(sid)
    await _refuse_third_person(ns, user["user_id"], command.group_id)
    # The agents decide membership (a member asking again changes nothing): never the
    # view, which may not show a removal or a join yet.
    joined = await ns.ask(JoinGroup(group_id=command.group_id, **ns.actor(sid, user)))
    seq, change, more = await follow(
        ns,
        sid,
        command.group_id,
        command.since_seq,
        command.since_change,
        member=(user["user_id"], joined.version or 0),
        decided=(joined.last_seq or 0, joined.last_change or 0),
    )
    if more:
        return {"ok": True, "group_id": command.group_id, "last_seq": seq,
                "last_change": change, "more": True}  # fmt: skip
    return {"ok": True, "group_id": command.group_id, "last_seq": seq, "last_change": change,
            "more": False}  # fmt: skip


@handles("leave", bucket="change")
async def leave(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    command = parse(InGroup, data)
    user = await ns.get_session(sid)
    await ns.ask(LeaveGroup(group_id=command.group_id, **ns.actor(sid, user)))
    ns.gate.unfollow(sid, command.group_id)
    await ns.leave_room(sid, group_room(command.group_id))
    return {"ok": True, "group_id": command.group_id}


@handles("invite", bucket="change")
async def invite(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    command = parse(InviteCommand, data)
    if (command.user_id is None) == (command.username is None):
        raise CommandError("invalid_payload", "give exactly one of user_id and username")
    _refuse_in_direct(command.group_id, "invite anyone")
    user = await ns.get_session(sid)
    await ns.member_group(user, command.group_id)
    invitee = await ns.directory.find(username=command.username, user_id=command.user_id)
    # Bounded per person, whoever invites: no one can grow another's list without end.
    # (The views may trail by a moment; the rate of invitations bounds that overshoot.)
    if await ns.reads.pending_invitations(invitee.user_id) >= (
        limit := ns.settings.max_invitations_per_user
    ):
        raise CommandError(
            "too_many_invitations", f"{invitee.username} has {limit} invitations pending"
        )
    await ns.ask(
        InviteMember(
            group_id=command.group_id,
            invitee_id=invitee.user_id,
            invitee=invitee.username,
            **ns.actor(sid, user),
        )
    )
    return {"ok": True, "group_id": command.group_id, "user_id": invitee.user_id}


@handles("decline", bucket="change")
async def decline(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    """Turn down an invitation to the group."""
    command = parse(InGroup, data)
    _refuse_in_direct(command.group_id, "decline")
    user = await ns.get_session(sid)
    await ns.ask(DeclineInvitation(group_id=command.group_id, **ns.actor(sid, user)))
    return {"ok": True, "group_id": command.group_id}


@handles("revoke", bucket="change")
async def revoke(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    """Take back an invitation (the inviter or the owner)."""
    command = parse(RevokeCommand, data)
    _refuse_in_direct(command.group_id, "revoke")
    user = await ns.get_session(sid)
    await ns.ask(
        RevokeInvitation(
            group_id=command.group_id, invitee_id=command.user_id, **ns.actor(sid, user)
        )
    )
    return {"ok": True, "group_id": command.group_id, "user_id": command.user_id}


@handles("remove_member", bucket="change")
async def remove_member(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    command = parse(RemoveMemberCommand, data)
    _refuse_in_direct(command.group_id, "remove anyone")
    user = await ns.get_session(sid)
    await ns.ask(
        RemoveMember(group_id=command.group_id, member_id=command.user_id, **ns.actor(sid, user))
    )
    return {"ok": True, "group_id": command.group_id, "user_id": command.user_id}


@handles("groups", bucket="read")
async def groups(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    parse(NoArguments, data if data is not None else {})
    user = await ns.get_session(sid)
    await ns.reads.caught_up_with(user["user_id"])
    listed = await ns.reads.groups_of(user["user_id"])
    return {
        "ok": True,
        "groups": [group_to_client(g, user["user_id"]) for g in listed],
        "invitations": await ns.reads.invitations_of(user["user_id"]),
    }


@handles("find_groups", bucket="read")
async def find_groups(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    command = parse(FindGroupsCommand, data if data is not None else {})
    # A group created a moment ago is found: by anyone once this node has read it, by its
    # creator even before (the agents' answer can come before the fact is read here).
    await ns.reads.caught_up_with((await ns.get_session(sid))["user_id"])
    await ns.reads.caught_up()
    found = await ns.reads.public_groups(command.query, limit=20)
    # (A direct conversation has no public entry; never listed, whatever the views hold.)
    return {"ok": True, "groups": [group_to_client(g) for g in found if g.direct is None]}


@handles("members", bucket="read")
async def members(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    command = parse(InGroup, data)
    group = await ns.member_group(await ns.get_session(sid), command.group_id)
    return {"ok": True, "group_id": group.group_id, "members": members_to_client(group)}


async def follow(
    ns: ChatNamespace,
    sid: str,
    group_id: str,
    since_seq: int | None,
    since_change: int | None,
    *,
    member: tuple[str, int] | None = None,
    decided: tuple[int, int] | None = None,
) -> tuple[int, int, bool]:
    """Enter the group's room, then send what the socket missed: messages after
    ``since_seq``, edits and deletes after ``since_change`` (from now, when not given).
    Returns the last ``seq`` and ``change`` now sent, and False. ``member``: the user and
    the group's version the agents answered their join at; a departure this node read
    after it refuses with ``not_a_member`` before anything of the group is sent.

    More than ``catch_up_limit`` messages missed: the first ``catch_up_limit`` of them are
    sent, the socket does not follow the group yet, and the third value is True; the client
    pages the rest with ``history`` + ``after_seq`` and joins again from where it is.

    ``decided``: the group's last ``seq`` and ``change`` as the agents answered the join,
    which no view trails: a client's cursor up to them is trusted, however far behind the
    views and this node are (a node just started, the views slowed by a broker's failover),
    and the views are waited for only until they show the membership answered, not every
    message this node has read (under load they trail the log by a projector round or two:
    in a rolling restart each returning socket waited up to ``view_wait`` for them, for
    nothing the answer did not already say).

    Live events are held from before the socket enters the room until the views have
    filled everything up to the newest position known (``Delivery.fill``), so an event
    is either filled or released after, and nothing is missed or doubled.
    """
    seen, settings = ns.seen, ns.settings
    if decided is None:
        group = await ns.reads.current_group(group_id)
        decided = (0, 0)
    else:
        # The membership as answered, so that what reads the views next (presence, the
        # group list) sees a new member: at once for a member coming back, whose version
        # the views have had all along.
        group = await ns.reads.group(group_id, version=member[1] if member else 0)
    if group is not None and (
        (since_seq or 0) > max(group.last_seq, seen.head(group_id, "seq"), decided[0])
        or (since_change or 0) > max(group.last_change, seen.head(group_id, "change"), decided[1])
    ):
        # The client has seen more than this node knows of yet (a node that started a
        # moment ago reads the log from its end): wait, briefly, for the views to catch up
        # with the client rather than send it again what it has.
        group = await ns.reads.group(group_id, seq=since_seq or 0, change=since_change or 0)
    newest = {
        "seq": max(group.last_seq if group else 0, seen.head(group_id, "seq"), decided[0]),
        "change": max(group.last_change if group else 0, seen.head(group_id, "change"), decided[1]),
    }

    def departed() -> bool:
        return member is not None and seen.departed_after(member[0], group_id, member[1])

    # A client cannot have seen past the newest position: a cursor beyond it (another
    # deployment's, say) would hide the messages to come.
    seq = newest["seq"] if since_seq is None else min(since_seq, newest["seq"])
    change = newest["change"] if since_change is None else min(since_change, newest["change"])
    if newest["seq"] - seq > settings.catch_up_limit:
        last = seq + settings.catch_up_limit
        await ns.reads.group(group_id, seq=last)  # (briefly) until the views have them
        deadline = time.monotonic() + settings.gap_timeout
        try:
            async for message in ns.reads.messages_between(group_id, seq + 1, last):
                if departed():
                    raise _no_longer_member()
                await ns.delivery.paced(sid, deadline)
                await ns.emit("message", message, to=sid, ignore_queue=True)
                seq = int(message["seq"])
        except TimeoutError:
            # It does not read what it asked for: dropped, as a socket that stops reading
            # live messages is (``gateway.backpressure``).
            await ns.disconnect(sid)
            raise CommandError("too_slow", "the client did not read its catch-up") from None
        return seq, change, True
    stream = ns.gate.follow(sid, group_id, seq, change, hold=True)
    await ns.enter_room(sid, group_room(group_id))
    if departed():
        # Removed (or left on another device) between the agents' answer and entering the
        # room: this node handled the removal before the socket was in the room, so undo
        # it here, before anything of the group is sent to it.
        ns.gate.unfollow(sid, group_id)
        await ns.leave_room(sid, group_room(group_id))
        raise _no_longer_member()
    await ns.delivery.fill(sid, group_id)
    return stream.cursors["seq"], stream.cursors["change"], False


def _refuse_in_direct(group_id: str, what: str) -> None:
    """Membership of a direct conversation is its two people's alone: refused at once (the
    agents refuse it too). Its id says what it is (``records.direct``)."""
    if is_direct_group_id(group_id):
        message = f"a direct conversation is two people's: no one can {what} there"
        raise CommandError("not_allowed", message)


async def _refuse_third_person(ns: ChatNamespace, user_id: str, group_id: str) -> None:
    """A ``join`` of a direct conversation by anyone but its two people: refused at once
    (the agents refuse it too)."""
    if not is_direct_group_id(group_id):
        return
    group = await ns.reads.group(group_id)
    if group is not None and group.direct is not None and user_id not in group.direct:
        raise CommandError("not_allowed", "a direct conversation is its two people's alone")


def _no_longer_member() -> CommandError:
    return CommandError("not_a_member", "you are no longer a member of this group")
