"""Turning a batch of requests into facts and answers, in order, exactly once in effect.

Message submissions are decided and stored in bulk (``MessageStore``). Every other request
is decided on its own against its group's state; its facts and answer are written to the
``applied_requests`` outbox before they are projected, so a request redelivered after a
crash is answered with the very facts it first produced, not decided a second time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from agents.decisions import Decision, GroupState, MessageView, decide, refuse
from agents.projections import Projector, page_id, page_of
from agents.store import MessageStore
from records.events import Fact, read_fact, split_message_id
from records.requests import (
    AnyRequest,
    DeletionRequested,
    EditRequested,
    MessageSubmitted,
    RequestAnswered,
)

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    facts: list[Fact] = field(default_factory=list)
    answers: list[RequestAnswered] = field(default_factory=list)


class Processor:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.projector = Projector(database)
        self.store = MessageStore(self.projector)
        self.applied = database["applied_requests"]
        self._groups: dict[str, GroupState] = {}

    async def start(self) -> None:
        await self.projector.ensure_indexes()

    def forget(self) -> None:
        """Drop every cached group: after a rebalance another worker may have written."""
        self._groups.clear()
        self.store.forget_positions()

    async def process(self, requests: list[AnyRequest]) -> Outcome:
        outcome = Outcome()
        run: list[MessageSubmitted] = []
        for request in requests:
            if isinstance(request, MessageSubmitted):
                run.append(request)
                continue
            if run:
                await self._submit(run, outcome)
                run = []
            await self._decide(request, outcome)
        if run:
            await self._submit(run, outcome)
        return outcome

    async def _submit(self, run: list[MessageSubmitted], outcome: Outcome) -> None:
        states = await self._states({s.group_id for s in run})
        accepted: list[MessageSubmitted] = []
        for submission in run:
            state = states[submission.group_id]
            if not state.exists:
                decision = refuse("group_not_found", f"there is no group {state.group_id!r}")
            elif submission.actor_id not in state.members:
                decision = refuse("not_a_member", "only members can send to this group")
            else:
                accepted.append(submission)
                continue
            outcome.answers.extend(_answer(submission, decision))
        outcome.facts.extend(await self.store.save(accepted))

    async def _decide(self, request: AnyRequest, outcome: Outcome) -> None:
        applied = await self.applied.find_one({"_id": request.event_id})
        if applied is not None:
            facts = [read_fact(raw) for raw in applied["facts"]]
            answers = [RequestAnswered.model_validate_json(raw) for raw in applied["answers"]]
            await self.projector.apply(facts)  # a crash may have come before the projection
        else:
            state = (await self._states({request.group_id}))[request.group_id]
            decision = decide(state, request, await self._message_view(request))
            facts, answers = decision.facts, _answer(request, decision)
            await self.applied.insert_one(
                {
                    "_id": request.event_id,
                    "facts": [fact.model_dump_json() for fact in facts],
                    "answers": [answer.model_dump_json() for answer in answers],
                }
            )
            await self.projector.apply(facts)
            for fact in facts:
                state.apply(fact)
        outcome.facts.extend(facts)
        outcome.answers.extend(answers)

    async def _states(self, group_ids: set[str]) -> dict[str, GroupState]:
        missing = group_ids - self._groups.keys()
        for group_id in missing:
            doc = await self.projector.groups.find_one({"_id": group_id})
            self._groups[group_id] = GroupState.from_document(group_id, doc)
        return {group_id: self._groups[group_id] for group_id in group_ids}

    async def _message_view(self, request: AnyRequest) -> MessageView | None:
        if not isinstance(request, EditRequested | DeletionRequested):
            return None
        group_id, seq = split_message_id(request.message_id)
        if group_id != request.group_id:
            return None
        page, slot = page_of(seq)
        doc = await self.projector.pages.find_one({"_id": page_id(group_id, page)})
        view = (doc or {}).get("m", {}).get(slot)
        if view is None:
            return None
        return MessageView(sender_id=view["sender_id"], deleted=bool(view["deleted"]))


def _answer(request: AnyRequest, decision: Decision) -> list[RequestAnswered]:
    """The answer for the waiting gateway node, if the request names one."""
    if request.origin is None:
        return []
    refusal = decision.refusal
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
        )
    ]
