"""Deciding requests against a group's folded state: pure functions, no I/O.

Each decision yields the facts to record (possibly none: asking twice for what is already so
is answered ``ok`` and changes nothing) or a refusal with a stable code. A refusal records
nothing and consumes no number. Every fact gets its group's next position: a message the next
``seq``, an edit or delete the next ``change``, a membership fact the next ``version``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict, assert_never

from agents.state import GroupState
from records.base import dedupe_key, message_id, split_message_id
from records.direct import direct_group_id, is_direct_group_id
from records.facts import (
    DirectOpened,
    Fact,
    GroupCreated,
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
    ReplyTo,
    UserBlocked,
    UserUnblocked,
)
from records.requests import (
    AnyRequest,
    BlockUser,
    CreateGroup,
    DeclineInvitation,
    DeleteMessage,
    EditMessage,
    InviteMember,
    JoinGroup,
    LeaveGroup,
    MarkRead,
    OpenDirect,
    RemoveMember,
    RevokeInvitation,
    SendMessage,
    ToggleReaction,
    UnblockUser,
)

MAX_PENDING_INVITATIONS = 1000
"""Invitations a group may have outstanding: an account cannot invite without bound."""
MAX_EMOJI_PER_MESSAGE = 20
"""Different emoji a message may carry: a few people cannot bury it under reactions."""


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


@dataclass(frozen=True)
class Decision:
    facts: list[Fact] = field(default_factory=list)
    refusal: Refusal | None = None
    seq: int | None = None
    """For a submission: where the message is (just saved, or saved before)."""
    reacted: bool | None = None
    """For a reaction: True when it was added, False when it was taken back."""


def refuse(code: str, message: str) -> Decision:
    return Decision(refusal=Refusal(code, message))


def decide(state: GroupState, request: AnyRequest, now: datetime) -> Decision:
    """Decide one request against its group's state; ``now`` stamps a saved message."""
    # A direct conversation's requests come before it has begun: opening it, and a block,
    # which is recorded in it whether or not it has.
    begins = CreateGroup | OpenDirect | BlockUser | UnblockUser
    if not state.exists and not isinstance(request, begins):
        return refuse("group_not_found", f"there is no group {state.group_id!r}")
    match request:
        case CreateGroup():
            return _create(state, request)
        case SendMessage():
            return _submit(state, request, now)
        case JoinGroup():
            return _join(state, request)
        case InviteMember():
            return _invite(state, request)
        case DeclineInvitation():
            return _decline(state, request)
        case RevokeInvitation():
            return _revoke(state, request)
        case LeaveGroup():
            return _leave(state, request)
        case RemoveMember():
            return _remove(state, request)
        case EditMessage() | DeleteMessage():
            return _change_message(state, request)
        case MarkRead():
            return _mark_read(state, request)
        case ToggleReaction():
            return _toggle_reaction(state, request)
        case OpenDirect():
            return _open_direct(state, request)
        case BlockUser():
            return _block(state, request)
        case UnblockUser():
            return _unblock(state, request)
        case _:
            assert_never(request)


# How a decided fact opens, filled from the group's state and the request: typed, so that
# mypy checks each field against every fact it opens.


class _Dated(TypedDict):
    group_id: str
    occurred_at: datetime


class _Membership(_Dated):
    version: int


class _Change(_Dated):
    change: int


def _dated(request: AnyRequest) -> _Dated:
    """What every fact a request leads to opens with: its group, and the moment it was asked
    (a fact is dated by its request, so deciding it again dates it the same)."""
    return {"group_id": request.group_id, "occurred_at": request.requested_at}


def _next_version(state: GroupState, request: AnyRequest) -> _Membership:
    """The opening of a membership fact: the group's next membership ``version``."""
    return {**_dated(request), "version": state.version + 1}


def _next_change(
    state: GroupState, request: EditMessage | DeleteMessage | ToggleReaction
) -> _Change:
    """The opening of an edit, a delete or a reaction: the group's next ``change``."""
    return {**_dated(request), "change": state.last_change + 1}


def _submit(state: GroupState, request: SendMessage, now: datetime) -> Decision:
    key = dedupe_key(state.group_id, request.actor_id, request.client_msg_id)
    if (seq := state.recent.get(key)) is not None:
        return Decision(seq=seq)  # sent again: answered with the message already saved
    if request.actor_id not in state.members:
        return refuse("not_a_member", "only members can send to this group")
    if (blocked := _blocked(state, request.actor_id)) is not None:
        return Decision(refusal=blocked)
    reply_to: ReplyTo | None = None
    if request.reply_to is not None:
        answered = _message_of(state, request.reply_to)
        if isinstance(answered, Refusal):
            return Decision(refusal=answered)
        reply_to = answered
    seq = state.last_seq + 1
    saved = MessageSaved(
        message_id=message_id(state.group_id, seq),
        group_id=state.group_id,
        seq=seq,
        sender_id=request.actor_id,
        sender=request.actor,
        client_msg_id=request.client_msg_id,
        body=request.body,
        saved_at=now,
        mentions=mentioned(state, request.body, request.actor_id),
        reply_to=reply_to,
        requested_at=request.requested_at,
    )
    return Decision([*_bring_back(state, request), saved], seq=seq)


def _message_of(state: GroupState, message_id: str) -> ReplyTo | Refusal:
    """A message of this group that is saved and not deleted, as a reply names it (its
    author from the state, so no word of it goes into the log)."""
    group_id, seq = split_message_id(message_id)
    author = state.author_of(seq) if group_id == state.group_id else None
    if author is None:
        return Refusal("message_not_found", f"there is no message {message_id!r}")
    if seq in state.deleted:
        return Refusal("message_deleted", "that message was deleted")
    return ReplyTo(message_id=message_id, seq=seq, sender_id=author)


def _create(state: GroupState, request: CreateGroup) -> Decision:
    if is_direct_group_id(state.group_id):
        return refuse("not_allowed", "a direct conversation is opened with direct, not created")
    if state.exists:
        if state.owner_id == request.actor_id:
            return Decision()  # the same request again
        return refuse("group_exists", "a group with this id exists")
    return Decision(
        [
            GroupCreated(
                **_next_version(state, request),
                name=request.name,
                private=request.private,
                owner_id=request.actor_id,
                owner=request.actor,
            )
        ]
    )


def _join(state: GroupState, request: JoinGroup) -> Decision:
    if request.actor_id in state.members:
        return Decision()
    if state.direct:
        return _rejoin_direct(state, request)
    if request.actor_id in state.removed and request.actor_id not in state.invited:
        message = "you were removed from this group: only the owner can invite you back"
        return refuse("removed", message)
    if state.private and request.actor_id not in state.invited:
        return refuse("invitation_required", "this group is private: a member must invite you")
    return Decision(
        [
            MemberJoined(
                **_next_version(state, request),
                user_id=request.actor_id,
                username=request.actor,
                read_seq=state.last_seq,
            )
        ]
    )


def _invite(state: GroupState, request: InviteMember) -> Decision:
    if state.direct:
        return _not_in_direct("invite anyone")
    if request.actor_id not in state.members:
        return refuse("not_a_member", "only members can invite")
    if request.invitee_id in state.members or request.invitee_id in state.invited:
        return Decision()
    if request.invitee_id in state.removed and request.actor_id != state.owner_id:
        return refuse("not_owner", "only the owner can invite back someone who was removed")
    if len(state.invited) >= MAX_PENDING_INVITATIONS:
        return refuse(
            "too_many_invitations",
            f"this group has {MAX_PENDING_INVITATIONS} invitations pending; revoke some first",
        )
    return Decision(
        [
            MemberInvited(
                **_next_version(state, request),
                user_id=request.invitee_id,
                username=request.invitee,
                by_id=request.actor_id,
                by=request.actor,
                group_name=state.name,
            )
        ]
    )


def _decline(state: GroupState, request: DeclineInvitation) -> Decision:
    if state.direct:
        return _not_in_direct("decline")
    if request.actor_id not in state.invited:
        return Decision()  # never invited, or declined already
    return Decision(
        [
            InvitationDeclined(
                **_next_version(state, request),
                user_id=request.actor_id,
                username=state.invited[request.actor_id],
            )
        ]
    )


def _revoke(state: GroupState, request: RevokeInvitation) -> Decision:
    if state.direct:
        return _not_in_direct("revoke")
    if request.actor_id not in state.members:
        return refuse("not_a_member", "only members can revoke invitations")
    if request.invitee_id not in state.invited:
        return Decision()  # used, declined or revoked already
    inviter = state.invited_by.get(request.invitee_id)
    if request.actor_id not in (inviter, state.owner_id):
        return refuse("not_inviter", "only the inviter or the owner can revoke an invitation")
    return Decision(
        [
            InvitationRevoked(
                **_next_version(state, request),
                user_id=request.invitee_id,
                username=state.invited[request.invitee_id],
                by_id=request.actor_id,
            )
        ]
    )


def _leave(state: GroupState, request: LeaveGroup) -> Decision:
    if request.actor_id not in state.members:
        return Decision()
    return Decision(
        [
            MemberLeft(
                **_next_version(state, request),
                user_id=request.actor_id,
                username=state.members[request.actor_id],
            )
        ]
    )


def _remove(state: GroupState, request: RemoveMember) -> Decision:
    if state.direct:
        return _not_in_direct("remove anyone")
    if request.actor_id != state.owner_id or request.actor_id not in state.members:
        # An owner who left has given the group up: removing needs them back in it.
        return refuse("not_owner", "only the group's owner, as a member, can remove members")
    if request.member_id == state.owner_id:
        return refuse("cannot_remove_owner", "the owner cannot be removed; leave instead")
    if request.member_id not in state.members:
        return Decision()
    return Decision(
        [
            MemberRemoved(
                **_next_version(state, request),
                user_id=request.member_id,
                username=state.members[request.member_id],
                by_id=request.actor_id,
            )
        ]
    )


def _change_message(state: GroupState, request: EditMessage | DeleteMessage) -> Decision:
    if request.actor_id not in state.members:
        return refuse("not_a_member", "only members can change messages")
    group_id, seq = split_message_id(request.message_id)
    author = state.author_of(seq) if group_id == state.group_id else None
    if author is None:
        return refuse("message_not_found", f"there is no message {request.message_id!r}")
    if author != request.actor_id:
        return refuse("not_author", "only the author can change a message")
    deleted = seq in state.deleted
    if isinstance(request, DeleteMessage):
        if deleted:
            return Decision()
        return Decision(
            [
                MessageDeleted(
                    **_next_change(state, request),
                    message_id=request.message_id,
                    seq=seq,
                    by_id=request.actor_id,
                )
            ]
        )
    if deleted:
        return refuse("message_deleted", "a deleted message cannot be edited")
    return Decision(
        [
            MessageEdited(
                **_next_change(state, request),
                message_id=request.message_id,
                seq=seq,
                body=request.body,
                by_id=request.actor_id,
                mentions=mentioned(state, request.body, request.actor_id),
            )
        ]
    )


def _toggle_reaction(state: GroupState, request: ToggleReaction) -> Decision:
    """Add the actor's emoji to a message or take it back (``reacted`` given: make it so,
    so a retried request changes nothing more); numbered with edits and deletes, so a
    client that was away gets it with them."""
    if request.actor_id not in state.members:
        return refuse("not_a_member", "only members can react to messages")
    target = _message_of(state, request.message_id)
    if isinstance(target, Refusal):
        return Decision(refusal=target)
    if (blocked := _blocked(state, request.actor_id)) is not None:
        return Decision(refusal=blocked)  # a direct conversation with a block
    on_message = state.reactions.get(target.seq, {})
    people = on_message.get(request.emoji, ())
    had = request.actor_id in people
    reacted = not had if request.reacted is None else request.reacted
    if reacted == had:
        return Decision(reacted=reacted)  # already so: ok, no fact
    if reacted and request.emoji not in on_message and len(on_message) >= MAX_EMOJI_PER_MESSAGE:
        return refuse(
            "too_many_reactions",
            f"this message has {MAX_EMOJI_PER_MESSAGE} different emoji; use one of those",
        )
    toggled = ReactionToggled(
        **_next_change(state, request),
        message_id=request.message_id,
        seq=target.seq,
        emoji=request.emoji,
        user_id=request.actor_id,
        username=state.members[request.actor_id],
        reacted=reacted,
        count=len(people) + (1 if reacted else -1),
    )
    return Decision([toggled], reacted=reacted)


def _mark_read(state: GroupState, request: MarkRead) -> Decision:
    """Markers only move forward and never past the group's last message."""
    if request.actor_id not in state.members:
        return refuse("not_a_member", "only members have read markers")
    current = state.read.get(request.actor_id, 0)
    target = min(request.seq, state.last_seq)
    if target <= current:
        return Decision(seq=current)
    marked = ReadMarked(
        **_dated(request),
        user_id=request.actor_id,
        username=state.members[request.actor_id],
        seq=target,
    )
    return Decision([marked], seq=target)


# --- direct conversations: a private group of exactly two, and blocks ----------------------


def _open_direct(state: GroupState, request: OpenDirect) -> Decision:
    """Begin the conversation (both people members at once), or bring the opener back into
    it after they left; opened again by someone in it, nothing changes."""
    if (wrong := _not_theirs(state, request.actor_id, request.peer_id)) is not None:
        return Decision(refusal=wrong)
    if (blocked := _blocked(state, request.actor_id)) is not None:
        return Decision(refusal=blocked)
    if not state.exists:
        opened = DirectOpened(
            **_next_version(state, request),
            user_id=request.actor_id,
            username=request.actor,
            peer_id=request.peer_id,
            peer=request.peer,
        )
        return Decision([opened])
    if request.actor_id in state.members:
        return Decision()
    return _rejoined(state, request)


def _rejoin_direct(state: GroupState, request: JoinGroup) -> Decision:
    """``join`` of a direct conversation by someone not in it now: only its two people may
    come back, and not while either blocks the other."""
    if request.actor_id not in state.direct:
        return refuse("not_allowed", "a direct conversation is its two people's alone")
    if (blocked := _blocked(state, request.actor_id)) is not None:
        return Decision(refusal=blocked)
    return _rejoined(state, request)


def _rejoined(state: GroupState, request: OpenDirect | JoinGroup) -> Decision:
    """One of the two back in their conversation by their own asking."""
    peer_id, peer = _other_of(state, request.actor_id)
    return Decision([_back_in(state, request, request.actor_id, request.actor, peer_id, peer)])


def _bring_back(state: GroupState, request: SendMessage) -> list[Fact]:
    """Before a message to a direct conversation the other person left: their return, so
    the conversation is back in their list, the new message unread."""
    if not state.direct:
        return []  # a group: no one comes back by a message
    user_id, username = _other_of(state, request.actor_id)
    if user_id in state.members:
        return []
    return [_back_in(state, request, user_id, username, request.actor_id, request.actor)]


def _other_of(state: GroupState, user_id: str) -> tuple[str, str]:
    """The other of a direct conversation's two people: their id and name."""
    return next((uid, name) for uid, name in state.direct.items() if uid != user_id)


def _back_in(
    state: GroupState,
    request: AnyRequest,
    user_id: str,
    username: str,
    peer_id: str,
    peer: str,
) -> MemberJoined:
    """One of the two back in their conversation, read up to its last message (before the
    one that brings them back), told whom with (``peer``)."""
    return MemberJoined(
        **_next_version(state, request),
        user_id=user_id,
        username=username,
        read_seq=state.last_seq,
        peer_id=peer_id,
        peer=peer,
    )


def _block(state: GroupState, request: BlockUser) -> Decision:
    if (wrong := _not_theirs(state, request.actor_id, request.user_id)) is not None:
        return Decision(refusal=wrong)
    if request.actor_id in state.blockers:
        return Decision()  # blocked already
    blocked = UserBlocked(**_dated(request), by_id=request.actor_id, by=request.actor,
                          user_id=request.user_id, username=request.username)  # fmt: skip
    return Decision([blocked])


def _unblock(state: GroupState, request: UnblockUser) -> Decision:
    if (wrong := _not_theirs(state, request.actor_id, request.user_id)) is not None:
        return Decision(refusal=wrong)
    if request.actor_id not in state.blockers:
        return Decision()  # not blocked, or unblocked already
    unblocked = UserUnblocked(**_dated(request), by_id=request.actor_id, by=request.actor,
                              user_id=request.user_id, username=request.username)  # fmt: skip
    return Decision([unblocked])


def _not_theirs(state: GroupState, actor_id: str, other_id: str) -> Refusal | None:
    """Refused unless the group is the direct conversation of the actor and another."""
    if other_id == actor_id:
        return Refusal("not_allowed", "that is you: a direct conversation is with someone else")
    if state.group_id != direct_group_id(actor_id, other_id):
        return Refusal("not_allowed", "this is not your direct conversation with them")
    return None


def _blocked(state: GroupState, actor_id: str) -> Refusal | None:
    """Nobody writes into a direct conversation while either of its two blocks the other.
    The blocked person is told no more than that they cannot write to this person."""
    if actor_id in state.blockers:
        return Refusal("blocked", "you block this person: unblock them first")
    if state.blockers:
        return Refusal("blocked", "you cannot write to this person")
    return None


def _not_in_direct(what: str) -> Decision:
    return refuse("not_allowed", f"a direct conversation is two people's: no one can {what}")


_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_.-]{1,32})")


def mentioned(state: GroupState, body: str, sender_id: str) -> list[str]:
    """The members a body names as ``@username`` (case aside), each once, not the sender."""
    by_name = {name.casefold(): user_id for user_id, name in state.members.items()}
    found: list[str] = []
    for match in _MENTION.finditer(body):
        name = match.group(1).casefold()
        user_id = by_name.get(name) or by_name.get(name.rstrip(".-"))
        if user_id is not None and user_id != sender_id and user_id not in found:
            found.append(user_id)
    return found
