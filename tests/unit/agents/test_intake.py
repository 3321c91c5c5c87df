from __future__ import annotations

import json

import pytest

from agents.intake import read_incoming, split_batch
from records.base import MAX_BODY_CHARS
from records.requests import EditMessage, JoinGroup, SendMessage


def submission(**changes: object) -> bytes:
    event = SendMessage(group_id="g1", actor_id="u1", actor="ann", client_msg_id="c1", body="hi")
    data = json.loads(event.to_bytes())
    data.update(changes)
    return json.dumps(data).encode()


def test_a_valid_submission_is_read_back_equal() -> None:
    raw = submission()
    assert json.loads(read_incoming(raw).to_bytes()) == json.loads(raw)


def test_a_field_of_a_later_version_is_ignored() -> None:
    """A gateway node already upgraded in a rolling deploy sends a field this worker has
    never heard of: the request is read as it would be without it, not set aside."""
    raw = json.loads(submission())
    later = json.dumps({**raw, "added_later": 1}).encode()
    assert read_incoming(later) == read_incoming(json.dumps(raw).encode())


def test_every_request_type_is_read_by_its_type() -> None:
    join = JoinGroup(group_id="g1", actor_id="u1", actor="ann")
    edit = EditMessage(group_id="g1", actor_id="u1", actor="ann", message_id="g1:3", body="x")
    assert read_incoming(join.to_bytes()) == join
    assert read_incoming(edit.to_bytes()) == edit


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "Invalid JSON"),
        (b"[]", "record"),
        (submission(body=""), "body"),
        (submission(body=" \t\n"), "body: is blank"),
        (submission(body="x" * (MAX_BODY_CHARS + 1)), "body"),
        (submission(group_id="has space"), "group_id"),
        (submission(type="MessageSaved"), "type"),
        (submission(type="NoSuchRequest"), "type"),
        (submission(client_msg_id=None), "client_msg_id"),
        (submission(actor_id="a.b"), "actor_id"),
    ],
)
def test_an_unreadable_record_says_why(raw: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        read_incoming(raw)


def test_a_batch_keeps_order_and_sets_aside_the_unreadable() -> None:
    first, second = submission(client_msg_id="a"), submission(client_msg_id="b")
    intake = split_batch([first, b"\xff\xfe", second, None])  # type: ignore[list-item]
    accepted = [s for s in intake.accepted if isinstance(s, SendMessage)]
    assert [s.client_msg_id for s in accepted] == ["a", "b"]
    assert [r.raw for r in intake.rejected] == [b"\xff\xfe", b""]
    assert all(r.reason for r in intake.rejected)


def test_the_dedupe_key_is_scoped_to_the_sender() -> None:
    ann = read_incoming(submission(actor_id="ann"))
    bob = read_incoming(submission(actor_id="bob"))
    assert isinstance(ann, SendMessage) and isinstance(bob, SendMessage)
    assert ann.client_msg_id == bob.client_msg_id
    assert ann.dedupe_key != bob.dedupe_key
