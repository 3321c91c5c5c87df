"""Deciding a batch of a partition's requests: pure, but for the clock.

The decider commits what one batch produced (``Outcome``) in one transaction; everything
here happens before it, in memory, so a batch decided again from the same state (after an
aborted transaction) is decided the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.decisions import Decision, decide
from agents.intake import Rejected, split_batch
from agents.keys import KeyRecord, sealed
from agents.state import GroupState, PartitionState
from records.base import utcnow
from records.facts import Fact
from records.requests import AnyRequest, MarkRead, RequestAnswered, SendMessage


@dataclass
class Outcome:
    """What one batch of a partition produced, to be committed in one transaction."""

    facts: list[Fact] = field(default_factory=list)
    answers: list[RequestAnswered] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    keys: list[KeyRecord] = field(default_factory=list)
    """The keys of the sealed bodies among the facts, and tombstones of deleted ones."""


def decide_batch(state: PartitionState, records: list[bytes]) -> Outcome:
    """Decide records in order against ``state``, folding each fact in as it is decided, so
    a request sees every fact decided before it. Pure but for the clock."""
    intake = split_batch(records)
    outcome = Outcome(rejected=intake.rejected)
    for request in intake.accepted:
        group = state.group(request.group_id)
        decision = decide(group, request, utcnow())
        for fact in decision.facts:
            fact, keys = sealed(state, group, fact)
            state.apply(fact)
            outcome.facts.append(fact)
            outcome.keys.extend(keys)
        outcome.answers.extend(answer(request, decision, group))
    return outcome


def answer(request: AnyRequest, decision: Decision, group: GroupState) -> list[RequestAnswered]:
    """The answer for the waiting gateway node, if the request names one, with the group's
    positions once decided (``group``: its state with the decision's facts folded in). A
    message saved needs none (the send was acknowledged when Kafka had it; the message
    itself is the answer), so only a refused one is answered: half the records of a busy
    transaction."""
    refusal = decision.refusal
    submitted = isinstance(request, SendMessage | MarkRead)  # acked at Kafka
    if request.origin is None or (submitted and refusal is None):
        return []
    return [
        RequestAnswered(
            request_id=request.event_id,
            request_type=request.type,
            group_id=request.group_id,
            origin=request.origin,
            origin_sid=request.origin_sid,
            ok=refusal is None,
            code=refusal.code if refusal else None,
            message=refusal.message if refusal else None,
            client_msg_id=getattr(request, "client_msg_id", None),
            version=group.version,
            seq=decision.seq,
            reacted=decision.reacted,
            last_seq=group.last_seq,
            last_change=group.last_change,
        )
    ]
