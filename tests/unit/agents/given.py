"""Given / When / Then for decision tests: given these facts of group "g" (folded, as the
agents fold the log), when this request, then these facts or this refusal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, get_args

from pydantic import BaseModel

from agents.decisions import Decision, decide
from agents.state import GroupState
from records.facts import (
    Fact,
    GroupCreated,
    MemberInvited,
    MemberJoined,
    MemberLeft,
    MemberRemoved,
    MessageDeleted,
    MessageEdited,
    MessageSaved,
)
from records.requests import AnyRequest

Actor = dict[str, Any]
"""Who asks: the ``actor_id`` and ``actor`` fields of a request."""

ANN: Actor = {"actor_id": "ann", "actor": "Ann"}  # the owner
BOB: Actor = {"actor_id": "bob", "actor": "Bob"}
CAT: Actor = {"actor_id": "cat", "actor": "Cat"}
EVE: Actor = {"actor_id": "eve", "actor": "Eve"}  # never in the group

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
"""When every request is decided: the moment a saved message is stamped with."""


def given(*facts: Fact) -> GroupState:
    """The state of group "g" folded from ``facts``, in log order."""
    state = GroupState("g")
    for fact in facts:
        state.apply(fact)
    return state


def when(state: GroupState, request: AnyRequest) -> Decision:
    return decide(state, request, NOW)


def facts(decision: Decision) -> list[dict[str, Any]]:
    """Then: the facts decided, each with every field but its moment (its request's)."""
    assert decision.refusal is None, decision.refusal
    return [fact.model_dump(exclude={"occurred_at"}) for fact in decision.facts]


def fact(kind: str, **fields: Any) -> dict[str, Any]:
    """A fact of group ``g`` as ``facts`` shows it: the fields given, the others at their
    defaults (a field added with a default changes no expectation that does not name it)."""
    model = FACT_TYPES[kind]
    defaults = {
        name: info.get_default(call_default_factory=True)
        for name, info in model.model_fields.items()
        if not info.is_required() and not info.exclude and name != "occurred_at"
    }
    return {**defaults, "type": kind, "group_id": "g", **fields}


FACT_TYPES: dict[str, type[BaseModel]] = {
    model.model_fields["type"].default: model for model in get_args(Fact)
}


def refusal(state: GroupState, request: AnyRequest) -> str | None:
    """Then: the code the request is refused with (None: accepted); a refusal decides no fact."""
    decision = when(state, request)
    if decision.refusal is None:
        return None
    assert decision.facts == [], decision
    return decision.refusal.code


# The facts a group's log is made of, as givens: ``version`` and ``change`` are spelled out,
# so each test shows the numbers its decision must continue.


def created(private: bool = False) -> GroupCreated:
    """Ann created the group "club" (version 1)."""
    return GroupCreated(
        group_id="g", version=1, name="club", private=private, owner_id="ann", owner="Ann"
    )


def joined(user_id: str, version: int, read_seq: int = 0) -> MemberJoined:
    return MemberJoined(group_id="g", version=version, user_id=user_id,
                        username=user_id.title(), read_seq=read_seq)  # fmt: skip


def invited(user_id: str, version: int, by: Actor = ANN) -> MemberInvited:
    return MemberInvited(group_id="g", version=version, user_id=user_id,
                         username=user_id.title(), by_id=by["actor_id"], by=by["actor"],
                         group_name="club")  # fmt: skip


def left(user_id: str, version: int) -> MemberLeft:
    return MemberLeft(group_id="g", version=version, user_id=user_id, username=user_id.title())


def removed(user_id: str, version: int) -> MemberRemoved:
    return MemberRemoved(group_id="g", version=version, user_id=user_id,
                         username=user_id.title(), by_id="ann")  # fmt: skip


def saved(seq: int, who: Actor, client_msg_id: str) -> MessageSaved:
    """Message ``seq`` of the group, sent by ``who`` as ``client_msg_id``."""
    return MessageSaved(message_id=f"g:{seq}", group_id="g", seq=seq,
                        sender_id=who["actor_id"], sender=who["actor"],
                        client_msg_id=client_msg_id, body="hi", saved_at=NOW)  # fmt: skip


def edited(seq: int, change: int, by: Actor = ANN) -> MessageEdited:
    return MessageEdited(group_id="g", message_id=f"g:{seq}", seq=seq, body="new",
                         by_id=by["actor_id"], change=change)  # fmt: skip


def deleted(seq: int, change: int, by: Actor = ANN) -> MessageDeleted:
    return MessageDeleted(group_id="g", message_id=f"g:{seq}", seq=seq, by_id=by["actor_id"],
                          change=change)  # fmt: skip
