"""The agents' decision state: a fold of the group-events log, never read back from a view.

Each partition of the requests topic is decided against the state folded from the same
partition of the events topic (the two are co-partitioned by group id). The state holds what
decisions need and no more: who is in each group and invited, its owner, its positions, the
author of each message (for edit and delete) and a bounded window of recent submissions, so
a message sent again with the same ``client_msg_id`` is answered, not stored twice.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import assert_never

import orjson

from records.base import dedupe_key
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
    MembershipFact,
    MessageDeleted,
    MessageEdited,
    MessageSaved,
    ReactionToggled,
    ReadMarked,
    UserBlocked,
    UserUnblocked,
    read_fact,
)

DEFAULT_DEDUPE_WINDOW = 5000
"""Recent submissions remembered per group: a resend within them is recognised."""


@dataclass
class GroupState:
    group_id: str
    exists: bool = False
    name: str = ""
    private: bool = False
    owner_id: str | None = None
    members: dict[str, str] = field(default_factory=dict)
    """User id → username."""
    invited: dict[str, str] = field(default_factory=dict)
    invited_by: dict[str, str] = field(default_factory=dict)
    """Invited user id → the member who invited them (who may revoke it, with the owner)."""
    read: dict[str, int] = field(default_factory=dict)
    """Member → the ``seq`` they have read up to (their read marker)."""
    removed: dict[str, str] = field(default_factory=dict)
    """Removed by the owner and not back since: kept out of a public group too, unless the
    owner's invitation is pending (a revoked or declined one leaves them out)."""
    last_seq: int = 0
    last_change: int = 0
    version: int = 0
    authors: list[str] = field(default_factory=list)
    """The sender of message ``seq`` is ``authors[seq - 1]`` (interned strings: one pointer
    a message)."""
    deleted: set[int] = field(default_factory=set)
    edits: dict[int, list[int]] = field(default_factory=dict)
    """Message ``seq`` → the changes that edited it, while it is not deleted: each edit's body
    has a key of its own (``records.sealing``), which the delete erases with the first."""
    reactions: dict[int, dict[str, set[str]]] = field(default_factory=dict)
    """Message ``seq`` → emoji → who has it on the message (interned ids), only for messages
    with a reaction and not deleted: a toggle's count and the limit of emoji need it."""
    direct: dict[str, str] = field(default_factory=dict)
    """A direct conversation's two people, user id → username (empty: a group): kept when
    one leaves, so only they may come back, and the one who left comes back when the other
    writes."""
    blockers: set[str] = field(default_factory=set)
    """Of a direct conversation's two people, those who block the other (folded whether or
    not the conversation has begun: a block is recorded in it either way)."""
    recent: OrderedDict[str, int] = field(default_factory=OrderedDict)
    """Dedupe key of a recent submission → the seq it was saved at."""
    dedupe_window: int = DEFAULT_DEDUPE_WINDOW

    def apply(self, fact: Fact) -> None:
        """Fold one fact into the state (facts arrive in log order)."""
        match fact:
            case MessageSaved():
                self.saved(fact.seq, fact.sender_id, fact.client_msg_id)
            case GroupCreated():
                self.exists, self.private, self.owner_id = True, fact.private, fact.owner_id
                self.name = fact.name
                self.members[fact.owner_id] = fact.owner
            case MemberInvited():
                self.invited[fact.user_id] = fact.username
                self.invited_by[fact.user_id] = fact.by_id
            case MemberJoined():
                self.members[fact.user_id] = fact.username
                self.removed.pop(fact.user_id, None)  # only joining ends a removal
                self.read[fact.user_id] = fact.read_seq
                self._uninvite(fact.user_id)
            case ReadMarked():
                self.read[fact.user_id] = max(self.read.get(fact.user_id, 0), fact.seq)
            case InvitationDeclined() | InvitationRevoked():
                self._uninvite(fact.user_id)
            case MemberLeft():
                self.members.pop(fact.user_id, None)
            case MemberRemoved():
                self.members.pop(fact.user_id, None)
                self.removed[fact.user_id] = fact.username
            case MessageEdited() | MessageDeleted():
                self.last_change = max(self.last_change, fact.change)
                if isinstance(fact, MessageDeleted):
                    self.deleted.add(fact.seq)
                    self.edits.pop(fact.seq, None)
                    self.reactions.pop(fact.seq, None)
                elif fact.change and fact.change not in self.edits.get(fact.seq, ()):
                    self.edits.setdefault(fact.seq, []).append(fact.change)
            case ReactionToggled():
                self.last_change = max(self.last_change, fact.change)
                self._react(fact)
            case DirectOpened():
                self.exists, self.private = True, True
                self.direct = {fact.user_id: fact.username, fact.peer_id: fact.peer}
                self.members.update(self.direct)
                self.read.update({fact.user_id: 0, fact.peer_id: 0})
            case UserBlocked():
                self.blockers.add(fact.by_id)
            case UserUnblocked():
                self.blockers.discard(fact.by_id)
            case _:
                assert_never(fact)
        if isinstance(fact, MembershipFact):
            self.version = max(self.version, fact.version)

    def _react(self, fact: ReactionToggled) -> None:
        if fact.seq in self.deleted:
            return
        on_message = self.reactions.setdefault(fact.seq, {})
        people = on_message.setdefault(fact.emoji, set())
        if fact.reacted:
            people.add(sys.intern(fact.user_id))
        else:
            people.discard(fact.user_id)
        if not people:
            del on_message[fact.emoji]
        if not on_message:
            del self.reactions[fact.seq]

    def _uninvite(self, user_id: str) -> None:
        self.invited.pop(user_id, None)
        self.invited_by.pop(user_id, None)

    def saved(self, seq: int, sender_id: str, client_msg_id: str) -> None:
        if seq <= self.last_seq:
            return  # a fact already folded (readers keep the first one for a seq)
        self.last_seq = seq
        self.authors.append(sys.intern(sender_id))
        self.recent[dedupe_key(self.group_id, sender_id, client_msg_id)] = seq
        while len(self.recent) > self.dedupe_window:
            self.recent.popitem(last=False)

    def author_of(self, seq: int) -> str | None:
        return self.authors[seq - 1] if 1 <= seq <= self.last_seq else None


class PartitionState:
    """Every group of one partition, folded from that partition of the event log."""

    def __init__(self, partition: int, dedupe_window: int = DEFAULT_DEDUPE_WINDOW) -> None:
        self.partition = partition
        self.dedupe_window = dedupe_window
        self.groups: dict[str, GroupState] = {}
        self.keys_issued = 0
        """The number of the newest key of a sealed body in this partition of the log."""
        self.folded = 0
        self.unreadable = 0

    def group(self, group_id: str) -> GroupState:
        state = self.groups.get(group_id)
        if state is None:
            state = self.groups[group_id] = GroupState(group_id, dedupe_window=self.dedupe_window)
        return state

    def apply(self, fact: Fact) -> None:
        self.group(fact.group_id).apply(fact)
        if isinstance(fact, MessageSaved | MessageEdited | MessageDeleted) and fact.key_no:
            self.keys_issued = max(self.keys_issued, fact.key_no)
        self.folded += 1

    def next_key_no(self) -> int:
        """The number of a new key: the facts that use them are folded (``apply``) in the
        order they are numbered, so a fold of the log gives the same count."""
        return self.keys_issued + 1

    def fold_raw(self, raw: bytes | None) -> None:
        """Fold one record of the log. Saved messages, nearly all of it, take a fast path
        that reads only the fields the state keeps; the rest is validated in full."""
        try:
            data = orjson.loads(raw or b"")
            if data.get("type") == "MessageSaved":
                self.group(data["group_id"]).saved(
                    int(data["seq"]), data["sender_id"], data["client_msg_id"]
                )
                if (key_no := data.get("key_no")) is not None:
                    self.keys_issued = max(self.keys_issued, int(key_no))
                self.folded += 1
                return
            self.apply(read_fact(raw or b""))
        except (ValueError, KeyError, TypeError):
            self.unreadable += 1  # never decided from; the producer of the log is ourselves
