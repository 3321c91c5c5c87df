"""Presence across nodes (Redis, entries that expire when a node dies) and typing relays."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from gateway.presence import Presence
from gateway.settings import Settings
from tests.integration.message_path.conftest import (
    ChatClient,
    NewClient,
    Start,
    connected,
    create_group,
)


async def changes_for(client: ChatClient, user_id: str) -> dict[str, Any]:
    """The next ``presence_changed`` about ``user_id`` (others' changes are passed over)."""
    while True:
        change = await client.next("presence_changed")
        if change["user_id"] == user_id:
            return change


async def test_members_see_who_comes_and_goes_across_nodes(
    start_gateway: Start,
    new_client: NewClient,
    token_for: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    departed: set[str] = set()  # sockets whose going a node has handled (and announced)
    depart = Presence.departed

    async def departing(self: Presence, sid: str) -> None:
        await depart(self, sid)
        departed.add(sid)

    monkeypatch.setattr(Presence, "departed", departing)
    first_node, second_node = await start_gateway(), await start_gateway()
    ann = await connected(new_client, first_node, token_for("ann"))
    group_id = await create_group(ann)
    dan = await connected(new_client, second_node, token_for("dan"))
    await dan.ok("join", {"group_id": group_id})
    await dan.sio.disconnect()
    assert await changes_for(ann, "user-dan") == {
        "group_id": group_id, "user_id": "user-dan", "username": "dan", "online": False
    }  # fmt: skip

    dan = await connected(new_client, second_node, token_for("dan"))
    assert (await changes_for(ann, "user-dan"))["online"] is True
    online = (await ann.ok("presence", {"group_id": group_id}))["online"]
    assert sorted(u["username"] for u in online) == ["ann", "dan"]

    second_socket = await connected(new_client, first_node, token_for("dan"))
    await second_socket.ok("join", {"group_id": group_id})
    sid = dan.sio.get_sid()
    await dan.sio.disconnect()  # still online through the second socket
    async with asyncio.timeout(10):
        while sid not in departed:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    # A later broadcast on the channel presence changes go by: Dan typing. Had his node
    # announced him offline, Ann would have been sent that before it.
    assert (await second_socket.ok("typing", {"group_id": group_id}))["relayed"] is True
    assert (await ann.next("typing"))["user_id"] == "user-dan"
    assert [c for c in ann.taken("presence_changed") if c["user_id"] == "user-dan"] == []
    online = (await ann.ok("presence", {"group_id": group_id}))["online"]
    assert "dan" in [u["username"] for u in online]
    await second_socket.sio.disconnect()
    assert (await changes_for(ann, "user-dan"))["online"] is False


async def test_a_dead_nodes_users_go_offline_when_their_entries_expire(
    start_gateway: Start,
    new_client: NewClient,
    token_for: Callable[..., str],
    gateway_settings: Settings,
) -> None:
    ttl = 2.0
    url = await start_gateway(presence_ttl=ttl)
    ann = await connected(new_client, url, token_for("ann"))
    group_id = await create_group(ann)
    ned = await connected(new_client, url, token_for("ned"))
    await ned.ok("join", {"group_id": group_id})
    await ned.sio.disconnect()
    await changes_for(ann, "user-ned")

    # A node that registers Ned's socket and then dies: no refresh, no departure.
    redis = Redis.from_url(gateway_settings.redis_url, decode_responses=True)

    async def nobody_listens(*_: Any) -> None:
        return None

    dead_node = Presence(redis, gateway_settings.socketio_channel, ttl, nobody_listens)
    await dead_node.arrived("sid-on-a-dead-node", "user-ned", "ned")
    online = (await ann.ok("presence", {"group_id": group_id}))["online"]
    assert "ned" in [u["username"] for u in online]

    change = await asyncio.wait_for(changes_for(ann, "user-ned"), timeout=ttl * 4)
    assert change["online"] is False
    online = (await ann.ok("presence", {"group_id": group_id}))["online"]
    assert "ned" not in [u["username"] for u in online]
    await redis.aclose()


async def test_typing_is_relayed_to_the_others_at_a_limited_rate(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway(typing_interval=1.0)
    ann = await connected(new_client, url, token_for("ann"))
    group_id = await create_group(ann)
    bo = await connected(new_client, url, token_for("bo"))
    await bo.ok("join", {"group_id": group_id})

    assert (await ann.ok("typing", {"group_id": group_id}))["relayed"] is True
    assert (await ann.ok("typing", {"group_id": group_id}))["relayed"] is False
    assert await bo.next("typing") == {
        "group_id": group_id,
        "user_id": "user-ann",
        "username": "ann",
    }
    await asyncio.sleep(1.1)  # the interval under test, waited out
    assert (await ann.ok("typing", {"group_id": group_id}))["relayed"] is True
    await bo.next("typing")
    # A later relay, on the same channel: Cy typing. Anything more of Ann's would have
    # reached Bo (or Ann herself) before it.
    cy = await connected(new_client, url, token_for("cy"))
    await cy.ok("join", {"group_id": group_id})
    assert (await cy.ok("typing", {"group_id": group_id}))["relayed"] is True
    for client in (ann, bo):
        assert (await client.next("typing"))["user_id"] == "user-cy"

    eve = await connected(new_client, url, token_for("eve"))
    assert (await eve.call("typing", {"group_id": group_id}))["error"]["code"] == "not_a_member"
