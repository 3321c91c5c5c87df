"""What this node has read of the event log: how far in each partition, each group's newest
positions, where each group's newest fact is, whose memberships changed, and who left.

Every gateway node reads the whole log itself (``gateway.log_reader``), so it knows all this
before the views do. A read that must show what the node has read waits for the views to get
there (``ReadModel.current_group``); a join catches up to the end even while the views trail;
a join answered just before its member was removed backs out. A fact changes it in one place
(``read``), an agents' answer to this node in another (``answered``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import assert_never

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
)
from records.requests import AnyRequest, RequestAnswered

RECENT_DEPARTURES = 10_000
"""Departures (left, removed) remembered per node, newest kept: enough to cover a join that
was answered just before its member was removed."""


@dataclass
class SeenLog:
    positions: dict[int, int] = field(default_factory=dict)
    """Partition of the log → the next offset this node will read there. Kept by the log
    reader, which resumes from it, and advanced once a record is handed on (a fact or not)."""
    heads: dict[str, dict[str, int]] = field(default_factory=dict)
    """Group id → the newest ``seq``, ``change`` and ``version`` this node read in the log."""
    placed: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Group id → the partition of the log and the offset after the newest fact of the group
    this node read: once the projector has applied that far, the group's view holds it."""
    memberships: dict[str, dict[str, int]] = field(default_factory=dict)
    """User id → group id → the group's version after the newest fact about the user there
    (joined, left, invited …), so the user's reads can wait for the views to show it."""
    departures: OrderedDict[tuple[str, str], int] = field(default_factory=OrderedDict)
    """(user id, group id) → the group's version when the user last left or was removed."""
    blockers: dict[str, set[str]] = field(default_factory=dict)
    """Direct conversation's group id → who of its two people blocks the other, as this node
    has read it: ahead of the views (a ``block_changed`` goes out as soon as it is read, and
    a write the other person sends on seeing it must not meet the block's stale view)."""

    def read(self, fact: Fact, partition: int, offset: int) -> None:
        """This node has read ``fact`` at ``offset`` of ``partition`` (before it delivers it,
        so a join that runs meanwhile already counts it)."""
        self.placed[fact.group_id] = (partition, offset + 1)
        match fact:
            case MessageSaved():
                self._saw(fact.group_id, "seq", fact.seq)
            case MessageEdited() | MessageDeleted() | ReactionToggled():
                self._saw(fact.group_id, "change", fact.change)
            case GroupCreated():
                self._membership(fact.owner_id, fact)
                self._returned(fact.owner_id, fact.group_id, fact.version)
            case MemberJoined():
                self._membership(fact.user_id, fact)
                self._returned(fact.user_id, fact.group_id, fact.version)
            case MemberLeft() | MemberRemoved():
                self._membership(fact.user_id, fact)
                self._departed(fact.user_id, fact.group_id, fact.version)
            case MemberInvited() | InvitationDeclined() | InvitationRevoked():
                self._membership(fact.user_id, fact)
            case ReadMarked():
                pass  # no head moves; where the group's newest fact is, ``placed`` has
            case DirectOpened():
                # Both people are in it from the start: each one's reads wait for it.
                for user_id in (fact.user_id, fact.peer_id):
                    self._membership(user_id, fact)
                    self._returned(user_id, fact.group_id, fact.version)
            case UserBlocked():
                # No head moves, no membership (``block`` waits for its own view).
                self.blockers.setdefault(fact.group_id, set()).add(fact.by_id)
            case UserUnblocked():
                self.blockers.setdefault(fact.group_id, set()).discard(fact.by_id)
            case _:
                assert_never(fact)

    def answered(self, request: AnyRequest, answer: RequestAnswered) -> None:
        """The agents accepted this node's request: the asker's next reads wait for the views
        to reach the group's version it was decided at (read-your-writes), even before this
        node reads the facts in the log."""
        if answer.version:
            self._saw(request.group_id, "version", answer.version)
            self._concerns(request.actor_id, request.group_id, answer.version)

    def head(self, group_id: str, kind: str) -> int:
        """The newest ``seq``, ``change`` or ``version`` of the group read here (0: none)."""
        return self.heads.get(group_id, {}).get(kind, 0)

    def changes_of(self, user_id: str) -> dict[str, int]:
        """Group id → the version after the newest change about the user read here."""
        return self.memberships.get(user_id, {})

    def departed_after(self, user_id: str, group_id: str, version: int) -> bool:
        """True if this node has read that the user left the group, or was removed from it,
        after the group was at ``version``."""
        return self.departures.get((user_id, group_id), 0) > version

    def _saw(self, group_id: str, kind: str, position: int) -> None:
        head = self.heads.setdefault(group_id, {"seq": 0, "change": 0, "version": 0})
        head[kind] = max(head[kind], position)

    def _membership(self, user_id: str, fact: MembershipFact) -> None:
        self._saw(fact.group_id, "version", fact.version)
        self._concerns(user_id, fact.group_id, fact.version)

    def _concerns(self, user_id: str, group_id: str, version: int) -> None:
        groups = self.memberships.setdefault(user_id, {})
        groups[group_id] = max(groups.get(group_id, 0), version)

    def _departed(self, user_id: str, group_id: str, version: int) -> None:
        self.departures[(user_id, group_id)] = version
        self.departures.move_to_end((user_id, group_id))
        while len(self.departures) > RECENT_DEPARTURES:
            self.departures.popitem(last=False)

    def _returned(self, user_id: str, group_id: str, version: int) -> None:
        if self.departures.get((user_id, group_id), version) < version:
            del self.departures[(user_id, group_id)]
