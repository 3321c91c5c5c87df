"""Handlers of direct conversations and blocks: ``direct``, ``block``, ``unblock`` and the
query ``blocked``; and the early word to someone writing into a conversation with a block.

A direct conversation is a private group of two whose id is theirs alone
(``records.direct``): whoever opens it, however often, asks the same group, and its agents
decide. A block is recorded in that group too, begun or not, so they refuse the blocked
person there; the immediate refusals here go by the blocks this node has read in the log
(``SeenLog.blockers``), by the views for a conversation it has read none of.
"""

from __future__ import annotations

from typing import Any

from gateway.commands import BlockCommand, CommandError, DirectCommand, NoArguments, parse
from gateway.directory import User
from gateway.handling.groups import follow
from gateway.handling.namespace import ChatNamespace, Reply, handles
from records.direct import direct_group_id, is_direct_group_id
from records.requests import BlockUser, OpenDirect, UnblockUser


@handles("direct", bucket="direct")
async def direct(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    """Open (or come back to) the conversation with one person; the socket follows it at
    once, as after ``join``."""
    command = parse(DirectCommand, data)
    user = await ns.get_session(sid)
    peer = await _other_person(ns, user, username=command.username, user_id=command.user_id)
    group_id = direct_group_id(user["user_id"], peer.user_id)
    opened = await ns.ask(
        OpenDirect(
            group_id=group_id, peer_id=peer.user_id, peer=peer.username, **ns.actor(sid, user)
        )
    )
    await follow(
        ns,
        sid,
        group_id,
        None,
        None,
        member=(user["user_id"], opened.version or 0),
        decided=(opened.last_seq or 0, opened.last_change or 0),
    )
    return {
        "ok": True,
        "group_id": group_id,
        "peer": {"user_id": peer.user_id, "username": peer.username},
    }


@handles("block", bucket="change")
async def block(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    return await _set_block(ns, sid, data, blocked=True)


@handles("unblock", bucket="change")
async def unblock(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    return await _set_block(ns, sid, data, blocked=False)


@handles("blocked", bucket="read")
async def blocked(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    """The people the caller blocks."""
    parse(NoArguments, data if data is not None else {})
    user = await ns.get_session(sid)
    return {"ok": True, "blocked": await ns.reads.blocked_of(user["user_id"])}


async def _set_block(ns: ChatNamespace, sid: str, data: Any, *, blocked: bool) -> Reply:
    """Block or unblock, answered once the caller's view shows it (bounded), so a
    ``blocked`` right after lists it."""
    command = parse(BlockCommand, data)
    user = await ns.get_session(sid)
    person = await _other_person(ns, user, user_id=command.user_id)
    kind = BlockUser if blocked else UnblockUser
    await ns.ask(
        kind(
            group_id=direct_group_id(user["user_id"], person.user_id),
            user_id=person.user_id,
            username=person.username,
            **ns.actor(sid, user),
        )
    )
    await ns.reads.until_block_shown(user["user_id"], person.user_id, blocked)
    return {"ok": True, "user_id": person.user_id, "blocked": blocked}


async def _other_person(
    ns: ChatNamespace,
    user: dict[str, Any],
    *,
    username: str | None = None,
    user_id: str | None = None,
) -> User:
    """The person named, if it is someone else: ``user_not_found``, ``not_allowed``."""
    if user_id == user["user_id"] or (username is not None and username == user["username"]):
        raise CommandError("not_allowed", "that is you: name someone else")
    person = await ns.directory.find(username=username, user_id=user_id)
    if person.user_id == user["user_id"]:  # (a username spelled another way)
        raise CommandError("not_allowed", "that is you: name someone else")
    return person


async def refuse_if_blocked(ns: ChatNamespace, user_id: str, group_id: str) -> None:
    """Refuse at once (``blocked``) a write into a direct conversation with a block in it
    (``ReadModel.blockers``); the agents refuse it for good either way, this only answers
    sooner."""
    if not is_direct_group_id(group_id):
        return
    blockers = await ns.reads.blockers(group_id)
    if not blockers:
        return
    if user_id in blockers:
        raise CommandError("blocked", "you block this person: unblock them first")
    raise CommandError("blocked", "you cannot write to this person")
