"""The decider's half of sealed bodies (``records.sealing``): a new key for every body it
writes into the log, a tombstone for every key of a message it deletes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from agents.state import GroupState, PartitionState
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
    UserBlocked,
    UserUnblocked,
)
from records.sealing import edit_key_id, key_id, new_key, seal


@dataclass(frozen=True)
class KeyRecord:
    """One record of the keys topic: a key or, with ``key`` None, a tombstone; numbered, so
    that a reader waiting for a key knows it gone when a higher number shows up."""

    key_id: str
    key: bytes | None
    key_no: int


def sealed(state: PartitionState, group: GroupState, fact: Fact) -> tuple[Fact, list[KeyRecord]]:
    """The fact as it goes into the log, and the key records to commit with it. Call before
    the fact is folded into ``state``: a delete's tombstones come from the message's edits."""
    match fact:
        case MessageSaved() | MessageEdited():
            key, number = new_key(), state.next_key_no()
            return seal(fact, key, number), [KeyRecord(key_id(fact), key, number)]
        case MessageDeleted():
            ids = [fact.message_id, *(edit_key_id(fact.message_id, change)
                                      for change in group.edits.get(fact.seq, []))]  # fmt: skip
            first = state.next_key_no()
            tombstones = [KeyRecord(i, None, first + n) for n, i in enumerate(ids)]
            return fact.model_copy(update={"key_no": tombstones[-1].key_no}), tombstones
        case (
            GroupCreated()
            | MemberInvited()
            | MemberJoined()
            | MemberLeft()
            | MemberRemoved()
            | InvitationDeclined()
            | InvitationRevoked()
            | ReadMarked()
            | DirectOpened()
            | UserBlocked()
            | UserUnblocked()
            | ReactionToggled()
        ):
            return fact, []  # no body: nothing to seal
        case _:
            assert_never(fact)
