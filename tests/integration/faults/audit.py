"""What a fault run is judged by, read through the client protocol only: the history each
group's members can page through, and what each member was sent live.

Kept apart from the scenario so the rules are in one place: every acknowledged message is in
its group's history exactly once, seqs run 1..N with no gap or repeat, and every member saw
exactly that history, in order, each seq once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.integration.faults.clients import Member

HISTORY_PAGE = 100


async def read_history(member: Member, group_id: str) -> list[dict[str, Any]]:
    """The group's whole history as its messages, oldest first, by paging ``history``
    backwards with ``before_seq`` as a client would."""
    found: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        query: dict[str, Any] = {"group_id": group_id, "limit": HISTORY_PAGE}
        if before is not None:
            query["before_seq"] = before
        reply = await member.ok_eventually("history", query)
        found.extend(reply["messages"])
        cursor = reply["next_before_seq"]
        if cursor is None or (before is not None and cursor >= before):
            break  # the second test guards against a cursor that does not move
        before = cursor
    return sorted(found, key=lambda m: int(m["seq"]))


def positions(history: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """``(seq, client_msg_id)`` of each message: what the message audit compares."""
    return [(int(m["seq"]), str(m["client_msg_id"])) for m in history]


async def newest_seq(member: Member, group_id: str) -> int:
    reply = await member.ok_eventually("history", {"group_id": group_id, "limit": 1})
    return int(reply["messages"][0]["seq"]) if reply["messages"] else 0


@dataclass
class Audit:
    """The counts of a run, summed over its groups, and a line per problem found."""

    acknowledged: int = 0
    in_history: int = 0
    rejected: int = 0
    missing: int = 0
    duplicated: int = 0
    """Extra copies of acknowledged messages in history (a message stored twice counts 1)."""
    seq_gaps: int = 0
    """Seqs missing from 1..N, plus seqs that appear more than once."""
    unacknowledged: int = 0
    refused: int = 0
    incomplete_members: int = 0
    reconnects: int = 0
    """Not a failure: shows that a killed gateway's clients did come back."""
    markers: int = 0
    """Read markers acknowledged (the highest per member)."""
    markers_lost: int = 0
    """Members whose marker in the views is behind the one they were acknowledged."""
    reactions: int = 0
    """Reactions acknowledged (a member's emoji on a message)."""
    reactions_lost: int = 0
    """Acknowledged reactions the history does not show."""
    reactions_doubled: int = 0
    """Emoji on a message whose count is not the number of people on it (one counted twice)."""
    reactions_astray: int = 0
    """Reactions in history no member was acknowledged."""
    reaction_views_wrong: int = 0
    """Members whose last ``reaction`` event of an emoji on a message says another count than
    the history, or whose ``reaction`` events came out of order or twice."""
    problems: list[str] = field(default_factory=list)

    def note(self, problem: str) -> None:
        self.problems.append(problem)

    def failures(self) -> dict[str, int]:
        """The counts that must all be zero."""
        return {
            "missing": self.missing,
            "duplicated": self.duplicated,
            "seq_gaps": self.seq_gaps,
            "incomplete_members": self.incomplete_members,
            "unacknowledged": self.unacknowledged,
            "refused": self.refused,
            "markers_lost": self.markers_lost,
            "reactions_lost": self.reactions_lost,
            "reactions_doubled": self.reactions_doubled,
            "reactions_astray": self.reactions_astray,
            "reaction_views_wrong": self.reaction_views_wrong,
        }

    def report(self) -> str:
        lines = [
            f"acknowledged={self.acknowledged} in_history={self.in_history} "
            f"rejected={self.rejected} missing={self.missing} duplicated={self.duplicated} "
            f"seq_gaps={self.seq_gaps} incomplete_members={self.incomplete_members} "
            f"unacknowledged={self.unacknowledged} refused={self.refused} "
            f"reconnects={self.reconnects} markers={self.markers} "
            f"markers_lost={self.markers_lost} reactions={self.reactions} "
            f"reactions_lost={self.reactions_lost} reactions_doubled={self.reactions_doubled} "
            f"reactions_astray={self.reactions_astray} "
            f"reaction_views_wrong={self.reaction_views_wrong}"
        ]
        lines += [f"  {problem}" for problem in self.problems[:40]]
        if len(self.problems) > 40:
            lines.append(f"  ... and {len(self.problems) - 40} more")
        return "\n".join(lines)


def audit_group(
    audit: Audit, group_id: str, members: list[Member], messages: list[dict[str, Any]]
) -> None:
    """Check one group's history against what its members sent and what they were sent."""
    history = positions(messages)
    acknowledged = set().union(*(m.acknowledged for m in members))
    rejected = set().union(*(m.rejected for m in members))
    copies = Counter(client_msg_id for _, client_msg_id in history)
    audit.acknowledged += len(acknowledged)
    audit.rejected += len(rejected & acknowledged)
    audit.unacknowledged += sum(len(m.pending) for m in members)
    audit.refused += sum(len(m.refusals) for m in members)
    audit.reconnects += sum(m.reconnects for m in members)
    for member in members:
        for client_msg_id, code in member.refusals:
            audit.note(f"{member.name}: send {client_msg_id} refused for good ({code})")

    missing = sorted(acknowledged - rejected - copies.keys())
    doubled = {cid: n for cid, n in copies.items() if n > 1 and cid in acknowledged}
    audit.in_history += len(acknowledged & copies.keys())
    audit.missing += len(missing)
    audit.duplicated += sum(n - 1 for n in doubled.values())
    if missing:
        audit.note(f"group {group_id}: {len(missing)} acknowledged not in history: {missing[:5]}")
    if doubled:
        audit.note(f"group {group_id}: stored more than once: {sorted(doubled.items())[:5]}")

    seqs = Counter(seq for seq, _ in history)
    top = max(seqs, default=0)
    gaps = sorted(set(range(1, top + 1)) - seqs.keys())
    repeats = sorted(seq for seq, n in seqs.items() if n > 1)
    audit.seq_gaps += len(gaps) + len(repeats)
    if gaps or repeats:
        audit.note(f"group {group_id}: seqs 1..{top}, gaps {gaps[:10]}, repeated {repeats[:10]}")

    for member in members:
        audit_live_view(audit, member, history)
    audit_reactions(audit, group_id, members, messages)


def audit_reactions(
    audit: Audit, group_id: str, members: list[Member], messages: list[dict[str, Any]]
) -> None:
    """Every acknowledged reaction is on its message once, nothing else is, each count is
    the people on it, and every member's live ``reaction`` events ended at those counts."""
    by_user = {m.user_id: m for m in members}
    in_history: dict[tuple[str, str], tuple[int, list[str]]] = {}
    for message in messages:
        for reaction in message.get("reactions") or []:
            key = (str(message["message_id"]), str(reaction["emoji"]))
            in_history[key] = (int(reaction["count"]), list(reaction["user_ids"]))
    for member in members:
        audit.reactions += len(member.reactions_acked)
        for key in sorted(member.reactions_acked):
            _, user_ids = in_history.get(key, (0, []))
            if member.user_id not in user_ids:
                audit.reactions_lost += 1
                audit.note(f"group {group_id}: {member.name}'s reaction {key} not in history")
    for key, (count, user_ids) in in_history.items():
        if count != len(user_ids) or len(set(user_ids)) != len(user_ids):
            audit.reactions_doubled += 1
            audit.note(f"group {group_id}: {key} count {count}, people {user_ids}")
        for user_id in user_ids:
            reactor = by_user.get(user_id)
            if reactor is None or key not in reactor.reactions_acked:
                audit.reactions_astray += 1
                audit.note(f"group {group_id}: {key} has {user_id}, never acknowledged")
    for member in members:
        changes = member.reaction_changes
        wrong = [
            key
            for key in in_history.keys() | member.reactions_seen.keys()
            if member.reactions_seen.get(key, (0, 0))[1] != in_history.get(key, (0, []))[0]
        ]
        disorder = [(a, b) for a, b in itertools.pairwise(changes) if b <= a]
        if wrong or disorder:
            audit.reaction_views_wrong += 1
            audit.note(
                f"{member.name} ({member.reconnects} reconnects): live reactions differ from "
                f"history on {wrong[:4]} ({len(wrong)}), changes out of order or twice "
                f"{disorder[:4]} ({len(disorder)})"
            )


def audit_live_view(audit: Audit, member: Member, history: list[tuple[int, str]]) -> None:
    """A member's live view (``message`` events, catch-up after rejoin included) must be the
    history itself: same messages at the same seqs, in seq order, each seq once."""
    if member.seen == history:
        return
    audit.incomplete_members += 1
    seen = Counter(member.seen)
    absent = [seq for seq, cid in history if (seq, cid) not in seen]
    extra = sorted({item for item in seen if item not in set(history)})
    twice = sorted(seq for (seq, _), n in seen.items() if n > 1)
    disorder = sum(1 for a, b in itertools.pairwise(member.seen) if b[0] <= a[0])
    audit.note(
        f"{member.name} ({member.reconnects} reconnects): saw {len(member.seen)} of "
        f"{len(history)}; absent seqs {absent[:8]} ({len(absent)}), not in history "
        f"{extra[:3]} ({len(extra)}), twice {twice[:8]}, out of order {disorder}"
    )


async def audit_markers(audit: Audit, group_id: str, members: list[Member]) -> None:
    """Every acknowledged read marker is in the views, at least as far as acknowledged (they
    never go back); the views trail the log by a moment, so each is waited for a while."""
    for member in members:
        if member.read_acked == 0:
            continue
        audit.markers += 1
        marker = 0
        for _ in range(50):
            reply = await member.ok_eventually("groups", None)
            entry: dict[str, Any] = next(
                (g for g in reply["groups"] if g["group_id"] == group_id), {}
            )
            marker = int(entry.get("last_read_seq", 0))
            if marker >= member.read_acked:
                break
            await asyncio.sleep(0.2)
        else:
            audit.markers_lost += 1
            audit.note(f"{member.name}: marker {marker}, acknowledged {member.read_acked}")
