"""Bodies go into the log sealed, each with a key of its own; a delete writes tombstones for
every key of the message, numbered on, so a reader knows an erased key gone."""

from __future__ import annotations

from typing import Any

from agents.batches import decide_batch
from agents.state import PartitionState
from records.base import utcnow
from records.facts import MessageDeleted, MessageEdited, MessageSaved, read_fact
from records.requests import (
    CreateGroup,
    DeleteMessage,
    EditMessage,
    SendMessage,
)
from records.sealing import key_id, new_key, seal, unseal

ANN: dict[str, Any] = {"actor_id": "ann", "actor": "Ann", "origin": "node", "origin_sid": "s"}
SECRET = "the launch code is 0000"


def saved(body: str = SECRET) -> MessageSaved:
    return MessageSaved(message_id="g:1", group_id="g", seq=1, sender_id="ann", sender="Ann",
                        client_msg_id="c1", body=body, saved_at=utcnow())  # fmt: skip


def test_a_sealed_body_is_not_in_the_record_and_its_key_opens_it() -> None:
    key = new_key()
    record = seal(saved(), key, key_no=7).to_bytes()
    assert SECRET.encode() not in record
    fact = read_fact(record)
    assert isinstance(fact, MessageSaved) and fact.body == "" and fact.key_no == 7
    opened = unseal(fact, key)
    assert opened.body == SECRET and not opened.erased


def test_without_its_key_or_moved_onto_another_message_a_body_stays_shut() -> None:
    key = new_key()
    sealed = seal(saved(), key, key_no=1)
    assert unseal(sealed, None).erased and unseal(sealed, None).body == ""
    assert unseal(sealed, new_key()).erased, "another key"
    moved = sealed.model_copy(update={"message_id": "g:2", "seq": 2})
    assert unseal(moved, key).erased, "the sealed body is bound to its message"
    assert "erased" not in unseal(sealed, None).model_dump_json(), "never in the log"


def test_a_delete_tombstones_the_key_of_every_body_the_message_had() -> None:
    state = PartitionState(0)
    requests = [
        CreateGroup(group_id="g", name="g", private=False, **ANN),
        SendMessage(group_id="g", client_msg_id="m1", body=SECRET, **ANN),
        EditMessage(group_id="g", message_id="g:1", body="second", **ANN),
        EditMessage(group_id="g", message_id="g:1", body="third", **ANN),
        SendMessage(group_id="g", client_msg_id="m2", body="kept", **ANN),
        DeleteMessage(group_id="g", message_id="g:1", **ANN),
    ]
    outcome = decide_batch(state, [r.to_bytes() for r in requests])
    assert all(SECRET.encode() not in f.to_bytes() for f in outcome.facts)
    keys = [(k.key_id, k.key is not None, k.key_no) for k in outcome.keys]
    assert keys == [
        ("g:1", True, 1), ("g:1/1", True, 2), ("g:1/2", True, 3), ("g:2", True, 4),
        ("g:1", False, 5), ("g:1/1", False, 6), ("g:1/2", False, 7),
    ]  # fmt: skip
    bodies = {k.key_no: k.key for k in outcome.keys if k.key}
    sealed = [f for f in outcome.facts if isinstance(f, MessageSaved | MessageEdited)]
    assert [unseal(f, bodies[f.key_no or 0]).body for f in sealed] == [
        SECRET, "second", "third", "kept",
    ]  # fmt: skip
    assert [key_id(f) for f in sealed] == ["g:1", "g:1/1", "g:1/2", "g:2"]
    deleted = [f for f in outcome.facts if isinstance(f, MessageDeleted)]
    assert deleted[0].key_no == 7, "the fold learns the tombstones' numbers from the delete"
    rebuilt = PartitionState(0)
    for fact in outcome.facts:
        rebuilt.fold_raw(fact.to_bytes())
    assert rebuilt.keys_issued == state.keys_issued == 7
    assert rebuilt.group("g").edits == {} == state.group("g").edits
