"""Bad input, table-driven: every client event and REST endpoint gets wrong types, missing and
unknown fields, huge strings, deep nesting and Unicode edge cases; forged, expired and
``alg=none`` tokens try to connect. Each gets a clear refusal with its code, nothing changes,
and the node keeps serving."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from tests.integration.message_path.conftest import (
    ChatClient,
    NewClient,
    Start,
    connected,
    create_group,
    sent_before_a_marker,
)

LIFTED = {
    f"{kind}_{bound}": 1_000_000
    for kind in ("send", "change", "read", "typing", "search")
    for bound in ("rate", "burst")
}
"""This suite sends hundreds of refused events; the per-person limits are not what it tests."""

HUGE = "x" * 60_000  # under the 64 KiB packet limit: refused by validation, not the transport
DEEP: Any = []
for _ in range(400):
    DEEP = [DEEP]

# A valid payload of each event (``{gid}``: the group, ``{mid}``: a message in it).
VALID: dict[str, dict[str, Any]] = {
    "send": {"group_id": "{gid}", "client_msg_id": "ok-1", "body": "hello"},
    "edit": {"message_id": "{mid}", "body": "edited"},
    "delete": {"message_id": "{mid}"},
    "join": {"group_id": "{gid}"},
    "leave": {"group_id": "{gid}"},
    "invite": {"group_id": "{gid}", "user_id": "user-nobody"},
    "remove_member": {"group_id": "{gid}", "user_id": "user-nobody"},
    "decline": {"group_id": "{gid}"},
    "revoke": {"group_id": "{gid}", "user_id": "user-nobody"},
    "history": {"group_id": "{gid}"},
    "members": {"group_id": "{gid}"},
    "presence": {"group_id": "{gid}"},
    "typing": {"group_id": "{gid}"},
    "find_groups": {"query": "team"},
    "search": {"query": "hello"},
    "create_group": {"name": "team"},
    "read": {"group_id": "{gid}", "seq": 1},
    "groups": {},
}
REFUSALS = {"invalid_payload", "invalid_text", "body_empty", "body_too_long"}


def variants(event: str) -> list[tuple[str, Any]]:
    """Bad payloads for ``event``: each must be refused."""
    valid = VALID[event]
    cases: list[tuple[str, Any]] = [
        ("not an object", "a string"),
        ("a list", [valid]),
        ("a number", 42),
        ("unknown field", {**valid, "admin": True}),
        ("deep nesting", {**valid, "nested": DEEP}),
    ]
    for field, good in valid.items():
        wrong_number = (f"{field} negative", -1) if isinstance(good, int) else (
            f"{field} a number", 7)  # fmt: skip
        cases += [
            (f"{field} missing", {k: v for k, v in valid.items() if k != field}),
            (wrong_number[0], {**valid, field: wrong_number[1]}),
            (f"{field} a boolean", {**valid, field: True}),
            (f"{field} a fraction", {**valid, field: 1.5}),
            (f"{field} null", {**valid, field: None}),
            (f"{field} an object", {**valid, field: {"$gt": ""}}),
            (f"{field} huge", {**valid, field: HUGE}),
            (f"{field} lone surrogate", {**valid, field: "a\ud800b"}),
            (f"{field} deep", {**valid, field: DEEP}),
        ]
    if event in ("send", "edit"):
        cases += [
            ("zero-width body", {**valid, "body": "\u200b\u2060\ufeff"}),
            ("right-to-left override", {**valid, "body": "see \u202egnp.exe"}),
        ]
    if event == "create_group":
        cases += [
            ("invisible name", {"name": "\u3164\u200b"}),
            ("name with an override", {"name": "admin\u202e"}),
        ]
    if event == "find_groups":  # every field is optional: only wrong values count
        cases = [c for c in cases if c[0] != "query missing"]
    return cases


def fill(payload: Any, group_id: str, message_id: str) -> Any:
    if isinstance(payload, dict):
        return {k: fill(v, group_id, message_id) for k, v in payload.items()}
    if payload == "{gid}":
        return group_id
    if payload == "{mid}":
        return message_id
    return payload


async def state_of(client: ChatClient, group_id: str) -> Any:
    groups = (await client.ok("groups"))["groups"]
    history = (await client.ok("history", {"group_id": group_id}))["messages"]
    members = (await client.ok("members", {"group_id": group_id}))["members"]
    return groups, history, members


async def test_every_event_refuses_bad_payloads_and_nothing_changes(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway(**LIFTED)
    user = f"bad{secrets.token_hex(3)}"
    alice = await connected(new_client, url, token_for(user))
    group_id = await create_group(alice)
    await alice.ok("send", {"group_id": group_id, "client_msg_id": "first", "body": "first"})
    message_id = (await alice.next_message())["message_id"]
    before = await state_of(alice, group_id)
    async with asyncio.timeout(10):  # the views catch up with the message first
        while before[0][0]["last_seq"] != 1:
            await asyncio.sleep(0.1)
            before = await state_of(alice, group_id)

    accepted: list[str] = []
    for event in VALID:
        for case, payload in variants(event):
            reply = await alice.call(event, fill(payload, group_id, message_id))
            if not (
                isinstance(reply, dict)
                and reply.get("ok") is False
                and reply["error"]["code"] in REFUSALS
                and reply["error"]["message"]
            ):
                accepted.append(f"{event} / {case}: {str(reply)[:200]}")
    assert accepted == []

    assert alice.sio.connected
    assert await state_of(alice, group_id) == before
    # … and the node still serves: a good message comes, and whatever a refused event had
    # made the node send of the group would have reached Alice before it.
    assert await sent_before_a_marker(alice, group_id, alice) == [[]]
    assert alice.taken("message_edited") == [] and alice.taken("message_deleted") == []


def unsigned_token(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize("kind", ["forged", "expired", "alg none", "garbage"])
async def test_bad_tokens_are_refused_with_their_code(
    kind: str, start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    good = token_for("mallory")
    header, claims, signature = good.split(".")
    payload = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    token = {
        "forged": f"{header}.{claims}.{signature[::-1]}",
        "expired": token_for("mallory", ttl=timedelta(seconds=-60)),
        "alg none": unsigned_token(payload),
        "garbage": "not-a-token",
    }[kind]
    client = new_client()
    with pytest.raises(Exception):  # noqa: B017 - socketio raises ConnectionError
        await client.connect(url, token)
    assert client.connect_errors
    code = client.connect_errors[-1]["data"]["code"]
    assert code in ("token_invalid", "token_expired")
    assert (code == "token_expired") == (kind == "expired")
    # The node is unharmed.
    await connected(new_client, url, token_for("mallory"))


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("limit=\u00b2", 422),  # a superscript two passes str.isdigit()
        ("limit=" + "9" * 5000, 422),
        ("before_seq=-1", 422),
        ("limit=0", 422),
        ("limit=1e3", 422),
        ("limit=\u0663", 422),  # an Arabic-Indic three
        ("limit=101", 422),
    ],
)
async def test_rest_refuses_bad_numbers_with_a_clear_error(
    query: str,
    status: int,
    start_gateway: Start,
    new_client: NewClient,
    token_for: Callable[..., str],
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    headers = {"Authorization": f"Bearer {token_for('alice')}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{url}/groups/{group_id}/messages?{query}", headers=headers
        ) as response:
            assert response.status == status, await response.text()
            assert (await response.json())["error"]["code"] == "invalid_payload"
        async with http.get(f"{url}/groups/{group_id}/messages", headers=headers) as response:
            assert response.status == 200


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer " + "a" * 5_000],
)
async def test_rest_refuses_missing_and_bad_tokens(
    authorization: str, start_gateway: Start
) -> None:
    url = await start_gateway()
    async with aiohttp.ClientSession() as http:
        for path in ("/groups", "/groups/g1/messages"):
            headers = {"Authorization": authorization} if authorization else {}
            async with http.get(f"{url}{path}", headers=headers) as response:
                assert response.status == 401
                assert (await response.json())["error"]["code"] in (
                    "token_missing",
                    "token_invalid",
                )
