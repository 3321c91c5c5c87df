"""Every event the gateway sends its clients, and its payload (the README's server → client
table), and the pieces of the acknowledgements built from the views and the search service: a
group, its members, an invitation, a message, a message found.

A fact of the log becomes its events in ``client_events``, a ``match`` that names every fact:
a new fact fails the type check here until it says what clients get of it. The other events
are the node's own (a refused send, presence, typing, the end of a session); who gets them,
their sender knows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, assert_never

from gateway.rooms import group_room, user_room
from records.facts import (
    DirectOpened,
    Fact,
    GroupCreated,
    GroupFact,
    InvitationDeclined,
    InvitationRevoked,
    MemberInvited,
    MemberJoined,
    MemberLeft,
    MemberRemoved,
    MessageDeleted,
    MessageEdited,
    MessageSaved,
    ReactionToggled,
    ReadMarked,
    UserBlocked,
    UserUnblocked,
)
from records.requests import RequestAnswered
from records.search import SearchAnswer, SearchHit
from records.views import Group, change_document, iso, message_slot, quote


class ClientEvent(NamedTuple):
    """An event as a client gets it: its name and its payload."""

    name: str
    payload: dict[str, Any]


class LogEvent(NamedTuple):
    """An event a fact of the log becomes, with the rooms it goes to."""

    name: str
    rooms: list[str]
    payload: dict[str, Any]


def client_events(fact: Fact, original: dict[str, Any] | None = None) -> list[LogEvent]:
    """What a fact of the log becomes for clients, in the order it goes out. ``original``:
    for a reply, the message it answers as it is now (a slot's ``sender``, ``body`` and
    ``deleted``), which its quote is made from."""
    room = group_room(fact.group_id)
    match fact:
        case GroupCreated():
            # Nothing: the creator's socket follows the group from its ``create_group``
            # acknowledgement, and no one else is in it yet.
            return []
        case MessageSaved():
            events = [LogEvent("message", [room], message_to_client(fact, original))]
            if fact.mentions:
                # Wherever the mentioned are, even with the group not open on their page.
                mention = {"group_id": fact.group_id, "message_id": fact.message_id,
                           "by": fact.sender, "by_id": fact.sender_id}  # fmt: skip
                rooms = [user_room(user_id) for user_id in fact.mentions]
                events.append(LogEvent("mentioned", rooms, mention))
            return events
        case MessageEdited() | MessageDeleted() | ReactionToggled():
            # A reaction is numbered with edits and deletes: live and caught up alike.
            name, payload = change_to_client(change_document(fact))
            return [LogEvent(name, [room], payload)]
        case MemberJoined():
            joined = [LogEvent("member_joined", [room], _pick(fact, "user_id", "username"))]
            if fact.peer_id is not None:
                # Back in a direct conversation: their sockets (out of its room since they
                # left) are told, as when it began, so it is back in their list.
                peer = {"user_id": fact.peer_id, "username": fact.peer or ""}
                back = {"group_id": fact.group_id, "peer": peer}
                joined.append(LogEvent("direct_opened", [user_room(fact.user_id)], back))
            return joined
        case MemberLeft():
            return [LogEvent("member_left", [room], _pick(fact, "user_id", "username"))]
        case MemberRemoved():
            # To the removed member's sockets too: they are out of the group's room by now.
            rooms = [room, user_room(fact.user_id)]
            return [LogEvent("member_removed", rooms, _pick(fact, "user_id", "username", "by_id"))]
        case MemberInvited():
            payload = _pick(fact, "by_id", "by", name="group_name")
            return [LogEvent("invited", [user_room(fact.user_id)], payload)]
        case ReadMarked():
            # To the group's other members (a read receipt) and the reader's other devices.
            rooms = [room, user_room(fact.user_id)]
            return [LogEvent("read", rooms, _pick(fact, "user_id", "username", "seq"))]
        case InvitationDeclined():
            rooms = [room, user_room(fact.user_id)]  # the invitee's other devices too
            return [LogEvent("invitation_declined", rooms, _pick(fact, "user_id", "username"))]
        case InvitationRevoked():
            rooms = [room, user_room(fact.user_id)]
            payload = _pick(fact, "user_id", "username", "by_id")
            return [LogEvent("invitation_revoked", rooms, payload)]
        case DirectOpened():
            # Each person's sockets are told of the other: the peer's that the opener began
            # it, the opener's own (their other devices) whom with. Both then ``join`` it.
            opener = {"user_id": fact.user_id, "username": fact.username}
            peer = {"user_id": fact.peer_id, "username": fact.peer}
            return [
                LogEvent("direct_opened", [user_room(fact.peer_id)],
                         {"group_id": fact.group_id, "peer": opener}),
                LogEvent("direct_opened", [user_room(fact.user_id)],
                         {"group_id": fact.group_id, "peer": peer}),
            ]  # fmt: skip
        case UserBlocked() | UserUnblocked():
            # To the blocker's own sockets only: the blocked person is told nothing.
            change = {"user_id": fact.user_id, "username": fact.username,
                      "blocked": isinstance(fact, UserBlocked)}  # fmt: skip
            return [LogEvent("block_changed", [user_room(fact.by_id)], change)]
        case _:
            assert_never(fact)


def _pick(fact: GroupFact, *names: str, **renamed: str) -> dict[str, Any]:
    """The group and some fields of the fact as JSON gives them (``renamed``: new=old)."""
    data = fact.model_dump(mode="json")  # not for messages: they have their own payload
    payload = {"group_id": fact.group_id, **{name: data[name] for name in names}}
    return payload | {new: data[old] for new, old in renamed.items()}


# --- messages, edits and deletes: live, caught up and in history alike ----------------------


def slot_to_client(
    group_id: str, slot: dict[str, Any], original: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A page slot (``records.views``) as the ``message`` payload clients receive: with
    ``reactions`` (none on slots written before there were any), and ``reply_to`` as the
    quote of ``original``, the message it answers as it is now (``records.views.quote``)."""
    payload = {key: value for key, value in slot.items() if key != "deleted_at"}
    payload["group_id"] = group_id
    for key in ("saved_at", "edited_at"):
        if isinstance(payload.get(key), datetime):
            payload[key] = iso(payload[key])
    payload["reactions"] = slot.get("reactions") or []
    reply_to = slot.get("reply_to")
    payload["reply_to"] = quote(reply_to, original) if reply_to is not None else None
    return payload


def message_to_client(fact: MessageSaved, original: dict[str, Any] | None = None) -> dict[str, Any]:
    """The live ``message`` payload: the same as history gives for the unchanged message."""
    return slot_to_client(fact.group_id, message_slot(fact), original)


REACTION_FIELDS = ("emoji", "user_id", "username", "reacted", "count")


def change_to_client(change: dict[str, Any]) -> ClientEvent:
    """A change (``records.views.change_document``) as the event clients get:
    ``message_edited``, ``message_deleted`` or ``reaction``."""
    payload = {key: change[key] for key in ("group_id", "message_id", "seq", "change")}
    if (reaction := change.get("reaction")) is not None:
        return ClientEvent("reaction", {**payload, **{k: reaction[k] for k in REACTION_FIELDS}})
    if change["deleted"]:
        return ClientEvent("message_deleted", {**payload, "deleted_at": iso(change["at"])})
    edited = {**payload, "body": change["body"], "edited_at": iso(change["at"])}
    return ClientEvent("message_edited", edited)


# --- groups, as ``groups``, ``find_groups`` and ``members`` list them -----------------------


def group_to_client(group: Group, user_id: str | None = None) -> dict[str, Any]:
    """The group as ``groups`` lists it; for a member, with their read marker and how many
    messages are unread and mention them (kept by the projector, not counted here). A direct
    conversation is named after the other person (``peer``), never by an internal name."""
    member = group.members.get(user_id or "", {})
    peer = group.peer_of(user_id or "") if group.direct is not None else None
    payload = {
        "group_id": group.group_id,
        "name": peer["username"] if peer is not None else group.name,
        "direct": group.direct is not None,
        "peer": peer,
        "private": group.private,
        "owner_id": group.owner_id,
        "last_seq": group.last_seq,
        "last_change": group.last_change,
        "members": len(group.members),
        "role": member.get("role"),
    }
    if member:
        payload |= {
            "last_read_seq": int(member.get("last_read_seq", 0)),
            "unread": max(0, int(member.get("unread", 0))),
            "mentions": max(0, int(member.get("mentions", 0))),
        }
    return payload


def members_to_client(group: Group) -> list[dict[str, Any]]:
    return [
        {
            "user_id": uid,
            "username": m["username"],
            "role": m["role"],
            "last_read_seq": int(m.get("last_read_seq", 0)),
        }  # fmt: skip
        for uid, m in sorted(group.members.items(), key=lambda item: item[1]["username"])
    ]


def invitation_to_client(group_id: str, invitation: dict[str, Any]) -> dict[str, Any]:
    """A ``user_groups`` pending invitation as the ``groups`` answer lists it."""
    return {
        "group_id": group_id,
        "name": invitation["name"],
        "by_id": invitation["by_id"],
        "by": invitation["by"],
    }


# --- messages found, as ``search`` and ``GET /search`` answer -------------------------------


def search_results(answer: SearchAnswer) -> dict[str, Any]:
    """``{results, next_cursor}``: the messages found, and where the next page starts (None
    after the last)."""
    return {
        "results": [hit_to_client(hit) for hit in answer.results],
        "next_cursor": answer.next_cursor,
    }


def hit_to_client(hit: SearchHit) -> dict[str, Any]:
    """A message found: where it is (open it with ``history`` + ``around_seq``), what it says
    now, and the ``[start, end)`` character offsets into ``body`` of what matched."""
    return {
        "group_id": hit.group_id,
        "message_id": hit.message_id,
        "seq": hit.seq,
        "sender_id": hit.sender_id,
        "sender": hit.sender,
        "body": hit.body,
        "saved_at": hit.saved_at,
        "edited_at": hit.edited_at,
        "highlights": [[start, end] for start, end in hit.highlights],
    }


# --- the node's own events --------------------------------------------------------------


def message_rejected(answer: RequestAnswered) -> ClientEvent:
    """A send the agents refused after it was acknowledged, for the socket that sent it."""
    error = {"code": answer.code, "message": answer.message}
    payload = {"group_id": answer.group_id, "client_msg_id": answer.client_msg_id}
    return ClientEvent("message_rejected", {**payload, "error": error})


def presence_changed(group_id: str, user_id: str, username: str, online: bool) -> ClientEvent:
    change = {"user_id": user_id, "username": username, "online": online}
    return ClientEvent("presence_changed", {"group_id": group_id, **change})


def typing(group_id: str, user_id: str, username: str) -> ClientEvent:
    return ClientEvent("typing", {"group_id": group_id, "user_id": user_id, "username": username})


def session_revoked() -> ClientEvent:
    """Before the server disconnects a socket whose person's sessions were revoked."""
    return ClientEvent("session_revoked", {"code": "token_revoked"})


def session_expired() -> ClientEvent:
    """Before the server disconnects a socket whose token has expired."""
    return ClientEvent("session_expired", {"code": "token_expired"})
