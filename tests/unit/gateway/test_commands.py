from __future__ import annotations

import pytest

from gateway.commands import CommandError, JoinCommand, SendCommand, check_body, parse
from records.base import MAX_BODY_CHARS


def test_a_valid_send_parses() -> None:
    send = parse(SendCommand, {"group_id": "g-1", "client_msg_id": "c.1", "body": "hi"})
    assert (send.group_id, send.client_msg_id, send.body) == ("g-1", "c.1", "hi")


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "text",
        [],
        {},
        {"group_id": "g"},
        {"group_id": "g", "client_msg_id": "c", "body": "b", "extra": True},
        {"group_id": "g", "client_msg_id": "c", "body": 1},
        {"group_id": "g", "client_msg_id": "", "body": "b"},
        {"group_id": "g/../x", "client_msg_id": "c", "body": "b"},
        {"group_id": "g" * 65, "client_msg_id": "c", "body": "b"},
    ],
)
def test_a_malformed_send_is_an_invalid_payload(payload: object) -> None:
    with pytest.raises(CommandError) as caught:
        parse(SendCommand, payload)
    assert caught.value.code == "invalid_payload"
    reply = caught.value.reply(client_msg_id=None)
    assert reply["ok"] is False and reply["error"]["message"]


def test_join_refuses_unknown_fields() -> None:
    with pytest.raises(CommandError) as caught:
        parse(JoinCommand, {"group_id": "g", "since": 1})
    assert caught.value.code == "invalid_payload"


@pytest.mark.parametrize(
    ("body", "code"),
    [("", "body_empty"), (" \n\t", "body_empty"), ("x" * (MAX_BODY_CHARS + 1), "body_too_long")],
)
def test_bodies_outside_the_limits_are_refused(body: str, code: str) -> None:
    with pytest.raises(CommandError) as caught:
        check_body(body)
    assert caught.value.code == code


def test_the_longest_body_is_accepted_and_one_character_more_is_not() -> None:
    longest = "é" * MAX_BODY_CHARS  # characters, not bytes, are counted
    assert len(longest.encode()) > MAX_BODY_CHARS
    check_body(longest)  # accepted: it raises nothing
    send = parse(SendCommand, {"group_id": "g", "client_msg_id": "c", "body": longest})
    assert send.body == longest
    with pytest.raises(CommandError) as caught:
        check_body(longest + "é")
    assert caught.value.code == "body_too_long"
