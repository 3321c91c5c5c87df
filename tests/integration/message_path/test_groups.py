"""Groups with membership: public and private groups, invitations, leaving, removal."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from gateway.typedefs import SEEN, SIO
from records.requests import JoinGroup
from tests.integration.message_path.conftest import (
    NewClient,
    Start,
    connected,
    create_group,
    sent_before_a_marker,
    sign_up,
)


async def test_a_public_group_is_found_by_name_and_joined(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    name = f"hikers {secrets.token_hex(3)}"
    group_id = await create_group(alice, name)
    bob = await connected(new_client, url, token_for("bob"))

    found = (await bob.ok("find_groups", {"query": name.upper()}))["groups"]
    assert [(g["group_id"], g["name"], g["private"]) for g in found] == [(group_id, name, False)]
    await bob.ok("join", {"group_id": group_id})
    assert await alice.next("member_joined") == {
        "group_id": group_id, "user_id": "user-bob", "username": "bob"
    }  # fmt: skip

    members = (await alice.ok("members", {"group_id": group_id}))["members"]
    assert members == [
        {"user_id": "user-alice", "username": "alice", "role": "owner", "last_read_seq": 0},
        {"user_id": "user-bob", "username": "bob", "role": "member", "last_read_seq": 0},
    ]
    groups = {g["group_id"]: g for g in (await bob.ok("groups"))["groups"]}
    assert (groups[group_id]["role"], groups[group_id]["members"]) == ("member", 2)


async def test_a_private_group_needs_an_invitation(
    auth_url: str, start_gateway: Start, new_client: NewClient
) -> None:
    url = await start_gateway(auth_service_url=auth_url)
    suffix = secrets.token_hex(3)
    _, owner_token = await sign_up(auth_url, f"owner_{suffix}")
    guest_id, guest_token = await sign_up(auth_url, f"guest_{suffix}")
    owner = await connected(new_client, url, owner_token)
    guest = await connected(new_client, url, guest_token)
    group_id = await create_group(owner, "secret", private=True)

    refused = await guest.call("join", {"group_id": group_id})
    assert refused["error"]["code"] == "invitation_required"
    assert (await guest.call("find_groups", {"query": "secret"}))["groups"] == []
    stranger = await owner.call("invite", {"group_id": group_id, "username": f"nobody_{suffix}"})
    assert stranger["error"]["code"] == "user_not_found"

    invited = await owner.ok("invite", {"group_id": group_id, "username": f"guest_{suffix}"})
    assert invited["user_id"] == guest_id
    notice = await guest.next("invited")
    assert (notice["group_id"], notice["name"], notice["by"]) == (
        group_id, "secret", f"owner_{suffix}"
    )  # fmt: skip
    pending = (await guest.ok("groups"))["invitations"]
    assert [(i["group_id"], i["name"]) for i in pending] == [(group_id, "secret")]
    await guest.ok("join", {"group_id": group_id})
    assert (await guest.ok("groups"))["invitations"] == []
    await guest.ok("send", {"group_id": group_id, "client_msg_id": "g1", "body": "thanks"})
    assert (await owner.next_message())["body"] == "thanks"


async def test_only_members_invite_and_only_the_owner_removes(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    bob = await connected(new_client, url, token_for("bob"))
    await bob.ok("join", {"group_id": group_id})
    eve = await connected(new_client, url, token_for("eve"))

    assert (await eve.call("invite", {"group_id": group_id, "user_id": "user-x"}))["error"][
        "code"
    ] == "not_a_member"
    refused = await bob.call("remove_member", {"group_id": group_id, "user_id": "user-alice"})
    assert refused["error"]["code"] == "not_owner"
    itself = await alice.call("remove_member", {"group_id": group_id, "user_id": "user-alice"})
    assert itself["error"]["code"] == "cannot_remove_owner"


async def test_a_removed_member_stops_receiving_at_once_on_every_node(
    auth_url: str, start_gateway: Start, new_client: NewClient
) -> None:
    first_node = await start_gateway(auth_service_url=auth_url)
    second_node = await start_gateway(auth_service_url=auth_url)
    suffix = secrets.token_hex(3)
    alice_id, alice_token = await sign_up(auth_url, f"alice_{suffix}")
    bob_id, bob_token = await sign_up(auth_url, f"bob_{suffix}")
    alice = await connected(new_client, first_node, alice_token)
    group_id = await create_group(alice)
    bob_here = await connected(new_client, first_node, bob_token)
    await bob_here.ok("join", {"group_id": group_id})
    bob_there = await connected(new_client, second_node, bob_token)
    await bob_there.ok("join", {"group_id": group_id})  # a member already: just follows

    await alice.ok("remove_member", {"group_id": group_id, "user_id": bob_id})
    for bob in (bob_here, bob_there):
        removed = await bob.next("member_removed")
        assert (removed["user_id"], removed["by_id"]) == (bob_id, alice_id)

    await alice.ok("send", {"group_id": group_id, "client_msg_id": "after", "body": "bye"})
    assert (await alice.next_message())["body"] == "bye"
    # A later fact of the group that both of Bob's sockets are sent: the invitation back.
    # Each node delivers the group in order, so "bye" would have reached them before it.
    await alice.ok("invite", {"group_id": group_id, "user_id": bob_id})
    for bob in (bob_here, bob_there):
        assert (await bob.next("invited"))["group_id"] == group_id
        assert bob.taken() == [], "a removed member was sent the group's messages"
    refused = await bob_there.call(
        "send", {"group_id": group_id, "client_msg_id": "b", "body": "?"}
    )
    assert refused["error"]["code"] == "not_a_member"
    assert group_id not in [g["group_id"] for g in (await bob_here.ok("groups"))["groups"]]


async def test_a_join_answered_just_before_a_removal_sends_nothing_of_the_group(
    auth_url: str,
    start_gateway: Start,
    new_client: NewClient,
    gateway_apps: dict[str, web.Application],
) -> None:
    """Bob rejoins (a reconnect: since_seq) and the agents accept; before his socket is in the
    room, Alice removes him and says something. The node read the removal before the socket
    was in the room, so the join must back out before sending him anything of the group."""
    url = await start_gateway(auth_service_url=auth_url)
    suffix = secrets.token_hex(3)
    _, alice_token = await sign_up(auth_url, f"alice_{suffix}")
    bob_id, bob_token = await sign_up(auth_url, f"bob_{suffix}")
    alice = await connected(new_client, url, alice_token)
    group_id = await create_group(alice)
    bob = await connected(new_client, url, bob_token)
    await bob.ok("join", {"group_id": group_id})
    await alice.ok("send", {"group_id": group_id, "client_msg_id": "m1", "body": "hi"})
    assert (await bob.next_message())["seq"] == 1

    namespace = gateway_apps[url][SIO].namespace_handlers["/"]
    seen = gateway_apps[url][SEEN]
    answered, release = asyncio.Event(), asyncio.Event()
    ask = namespace.ask

    async def paused(request: Any) -> Any:
        answer = await ask(request)
        if isinstance(request, JoinGroup) and request.actor_id == bob_id:
            answered.set()
            await release.wait()
        return answer

    namespace.ask = paused
    joining = asyncio.create_task(bob.call("join", {"group_id": group_id, "since_seq": 1}))
    await asyncio.wait_for(answered.wait(), 15)
    await alice.ok("remove_member", {"group_id": group_id, "user_id": bob_id})
    await alice.ok("send", {"group_id": group_id, "client_msg_id": "m2", "body": "secret"})
    async with asyncio.timeout(15):  # this node has read both before Bob's join goes on
        while seen.head(group_id, "seq") < 2 or not seen.departed_after(bob_id, group_id, 0):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    release.set()
    reply = await joining
    assert reply["error"]["code"] == "not_a_member", reply
    # A later fact of the group that Bob's socket is sent: the invitation back. The node
    # delivers the group in order, so "secret" would have reached him before it.
    await alice.ok("invite", {"group_id": group_id, "user_id": bob_id})
    assert (await bob.next("invited"))["group_id"] == group_id
    leaked = bob.taken()
    assert [m["body"] for m in leaked] == [], "a removed member was sent the group's messages"


async def test_a_member_who_leaves_receives_no_more(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    bob = await connected(new_client, url, token_for("bob"))
    await bob.ok("join", {"group_id": group_id})
    await bob.ok("leave", {"group_id": group_id})
    assert (await alice.next("member_left"))["user_id"] == "user-bob"

    await alice.ok("send", {"group_id": group_id, "client_msg_id": "1", "body": "still here?"})
    await alice.next_message()
    assert (await bob.call("history", {"group_id": group_id}))["error"]["code"] == "not_a_member"
    # He comes back (from now): a later message reaches him, and "still here?", had it been
    # sent to him, would have before it (the node delivers the group in order).
    await bob.ok("join", {"group_id": group_id})
    assert await sent_before_a_marker(alice, group_id, bob) == [[]]


async def test_rest_mirrors_list_groups_and_messages(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice, "rest")
    for n in range(3):
        await alice.ok("send", {"group_id": group_id, "client_msg_id": f"r{n}", "body": f"{n}"})
    for _ in range(3):
        await alice.next_message()

    bearer = {"Authorization": f"Bearer {token_for('alice')}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/groups", headers=bearer) as response:
            assert response.status == 200
            assert group_id in [g["group_id"] for g in (await response.json())["groups"]]
        messages_url = f"{url}/groups/{group_id}/messages"
        async with http.get(messages_url, params={"limit": "2"}, headers=bearer) as response:
            page = await response.json()
            assert [m["seq"] for m in page["messages"]] == [3, 2]
            assert page["next_before_seq"] == 2
        async with http.get(messages_url) as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "token_missing"
        eve = {"Authorization": f"Bearer {token_for('eve')}"}
        async with http.get(messages_url, headers=eve) as response:
            assert response.status == 403


async def test_a_removed_member_stays_out_of_a_public_group_until_invited_back(
    auth_url: str, start_gateway: Start, new_client: NewClient
) -> None:
    url = await start_gateway(auth_service_url=auth_url)
    suffix = secrets.token_hex(3)
    _, owner_token = await sign_up(auth_url, f"owner_{suffix}")
    bob_id, bob_token = await sign_up(auth_url, f"bob_{suffix}")
    alice = await connected(new_client, url, owner_token)
    group_id = await create_group(alice)
    bob = await connected(new_client, url, bob_token)
    await bob.ok("join", {"group_id": group_id})
    await alice.ok("remove_member", {"group_id": group_id, "user_id": bob_id})
    await bob.next("member_removed")

    assert (await bob.call("join", {"group_id": group_id}))["error"]["code"] == "removed"
    await alice.ok("send", {"group_id": group_id, "client_msg_id": "1", "body": "bob is out"})
    await alice.next_message()

    await alice.ok("invite", {"group_id": group_id, "user_id": bob_id})
    assert (await bob.next("invited"))["group_id"] == group_id
    # The invitation is a later fact of the group: "bob is out" would have come before it.
    assert bob.taken() == [], "a removed member was sent the group's messages"
    await bob.ok("join", {"group_id": group_id})
    await alice.ok("send", {"group_id": group_id, "client_msg_id": "2", "body": "welcome back"})
    assert (await bob.next_message())["body"] == "welcome back"


async def test_an_owner_who_left_cannot_remove(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    bob = await connected(new_client, url, token_for("bob"))
    await bob.ok("join", {"group_id": group_id})
    await alice.ok("leave", {"group_id": group_id})
    refused = await alice.call("remove_member", {"group_id": group_id, "user_id": "user-bob"})
    assert refused["error"]["code"] == "not_owner"
    members = (await bob.ok("members", {"group_id": group_id}))["members"]
    assert [m["user_id"] for m in members] == ["user-bob"]


async def test_an_invitation_is_declined_or_revoked(
    auth_url: str, start_gateway: Start, new_client: NewClient
) -> None:
    url = await start_gateway(auth_service_url=auth_url)
    suffix = secrets.token_hex(3)
    alice_id, owner_token = await sign_up(auth_url, f"owner_{suffix}")
    bob_id, bob_token = await sign_up(auth_url, f"bob_{suffix}")
    alice = await connected(new_client, url, owner_token)
    group_id = await create_group(alice, "club", private=True)
    bob = await connected(new_client, url, bob_token)
    bob_elsewhere = await connected(new_client, url, bob_token)

    await alice.ok("invite", {"group_id": group_id, "user_id": bob_id})
    await bob.next("invited")
    await bob.ok("decline", {"group_id": group_id})
    declined = await alice.next("invitation_declined")
    assert (declined["group_id"], declined["user_id"]) == (group_id, bob_id)
    # Bob's other device hears of it too.
    assert (await bob_elsewhere.next("invitation_declined"))["group_id"] == group_id
    assert (await bob.ok("groups"))["invitations"] == []
    refused = await bob.call("join", {"group_id": group_id})
    assert refused["error"]["code"] == "invitation_required"

    await alice.ok("invite", {"group_id": group_id, "user_id": bob_id})
    await bob.next("invited")
    await alice.ok("revoke", {"group_id": group_id, "user_id": bob_id})
    revoked = await bob.next("invitation_revoked")
    assert (revoked["group_id"], revoked["by_id"]) == (group_id, alice_id)
    assert (await bob.ok("groups"))["invitations"] == []
    refused = await bob.call("join", {"group_id": group_id})
    assert refused["error"]["code"] == "invitation_required"


async def test_find_groups_matches_the_start_of_each_word(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    tag = secrets.token_hex(4)
    group_id = await create_group(alice, f"Night Owls {tag}")

    async def found(query: str) -> list[str]:
        groups = (await alice.ok("find_groups", {"query": query}))["groups"]
        return [g["group_id"] for g in groups]

    assert group_id in await found(f"owl {tag[:4]}")
    assert group_id in await found(f"{tag.upper()} NIGHT")
    assert group_id not in await found(f"wls {tag}")  # not the start of a word
    assert await found(f"nomatch{tag}") == []
