"""Message search end to end: real gateways, auth, agents and the search service, on real
Kafka, FerretDB and Redis. Messages are sent, and found within a bounded wait (the index
follows the log a moment behind); only what the caller may read now is ever found; every bad
input gets its refusal; the REST mirror answers the same; a result opens in context with
``history`` + ``around_seq``."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from infra.paths import free_port
from tests.integration.message_path.conftest import (
    ChatClient,
    NewClient,
    Start,
    create_group,
    messages_until,
    sign_up,
)

LIFTED = {"search_rate": 1000.0, "search_burst": 1000}
"""These tests poll the search until the index has what they sent: not the limit's business
(``test_searches_have_an_allowance_of_their_own`` tests that)."""
WITHIN = 30.0
"""Seconds a message may take to be found, or to be gone once edited or deleted."""

Reply = dict[str, Any]


@dataclass
class Person:
    client: ChatClient
    user_id: str
    username: str
    token: str

    async def send(self, group_id: str, body: str) -> dict[str, Any]:
        """Send, and return the message as the group got it (its ``seq``, ``message_id``)."""
        client_msg_id = uuid.uuid4().hex[:12]
        payload = {"group_id": group_id, "client_msg_id": client_msg_id, "body": body}
        await self.client.ok("send", payload)
        return (await messages_until(self.client, client_msg_id))[-1]

    async def search(self, query: str, **options: Any) -> Reply:
        reply: Reply = await self.client.call("search", {"query": query, **options})
        return reply

    async def found(
        self,
        query: str,
        until: Callable[[Reply], bool] = lambda reply: bool(reply["results"]),
        within: float = WITHIN,
        **options: Any,
    ) -> Reply:
        """Search again until the answer is ``ok`` and ``until`` holds; the answer."""
        deadline = time.monotonic() + within
        while True:
            reply = await self.search(query, **options)
            if reply.get("ok") and until(reply):
                return reply
            assert time.monotonic() < deadline, f"{query!r} {options}: still {reply}"
            await asyncio.sleep(0.1)


class Chat:
    """People on the test's gateway nodes, signed up at the real auth service."""

    def __init__(self, start_gateway: Start, auth_url: str, search_url: str, new_client: NewClient):
        self.start_gateway = start_gateway
        self.auth_url = auth_url
        self.search_url = search_url
        self.new_client = new_client
        self.suffix = uuid.uuid4().hex[:8]
        self.urls: list[str] = []

    async def node(self, **overrides: Any) -> str:
        """Another gateway node, asking the same search service (unless told otherwise)."""
        settings = {"auth_service_url": self.auth_url, "search_url": self.search_url, **LIFTED}
        url = await self.start_gateway(**(settings | overrides))
        self.urls.append(url)
        return url

    async def person(self, name: str, node: int = 0) -> Person:
        username = f"{name}{self.suffix}"
        user_id, token = await sign_up(self.auth_url, username)
        return await self.connected(Person(self.new_client(), user_id, username, token), node)

    async def connected(self, person: Person, node: int = 0) -> Person:
        await person.client.connect(self.urls[node], person.token)
        return person

    async def again(self, person: Person, node: int) -> Person:
        """The same person on another socket, on ``node``."""
        return await self.connected(Person(self.new_client(), *_who(person)), node)


def _who(person: Person) -> tuple[str, str, str]:
    return person.user_id, person.username, person.token


@pytest.fixture
async def chat(start_gateway: Start, auth_url: str, search_url: str, new_client: NewClient) -> Chat:
    chat = Chat(start_gateway, auth_url, search_url, new_client)
    await chat.node()
    return chat


@pytest.fixture
async def chat_without_search(start_gateway: Start, auth_url: str, new_client: NewClient) -> Chat:
    """A gateway node whose search service is not there: nothing listens where it asks."""
    chat = Chat(start_gateway, auth_url, f"http://127.0.0.1:{free_port()}", new_client)
    await chat.node()
    return chat


def seqs(reply: Reply) -> list[int]:
    return [hit["seq"] for hit in reply["results"]]


def bodies(reply: Reply) -> set[str]:
    return {hit["body"] for hit in reply["results"]}


async def join(person: Person, group_id: str) -> None:
    await person.client.ok("join", {"group_id": group_id})


# --- found -------------------------------------------------------------------------------


async def test_a_message_sent_is_found_with_what_matched_and_opens_in_context(chat: Chat) -> None:
    ann = await chat.person("ann")
    group_id = await create_group(ann.client)
    for n in range(1, 8):
        await ann.send(group_id, f"filler {n}")
    sent = await ann.send(group_id, "Deploy the release, then deploy the docs")
    await ann.send(group_id, "lunch at noon?")

    reply = await ann.found("deploy")
    (hit,) = reply["results"]
    assert reply["next_cursor"] is None
    assert {key: hit[key] for key in ("group_id", "message_id", "seq", "body")} == {
        key: sent[key] for key in ("group_id", "message_id", "seq", "body")
    }
    assert (hit["sender_id"], hit["sender"]) == (ann.user_id, ann.username)
    assert hit["saved_at"] == sent["saved_at"] and hit["edited_at"] is None
    assert [hit["body"][start:end].casefold() for start, end in hit["highlights"]] == [
        "deploy", "deploy"
    ]  # fmt: skip

    around = await ann.client.ok(
        "history", {"group_id": group_id, "around_seq": hit["seq"], "limit": 5}
    )
    assert [m["seq"] for m in around["messages"]] == [5, 6, 7, 8, 9]
    assert (around["next_before_seq"], around["next_after_seq"]) == (5, None)


async def test_words_match_in_any_case_and_with_or_without_accents(chat: Chat) -> None:
    ann = await chat.person("ann")
    group_id = await create_group(ann.client)
    await ann.send(group_id, "Le DÉPLOIEMENT est prêt")
    for query in ("déploiement", "deploiement", "Deploiement", "PRET", "prêt déploiement"):
        reply = await ann.found(query)
        assert bodies(reply) == {"Le DÉPLOIEMENT est prêt"}, query
    (hit,) = (await ann.found("deploiement"))["results"]
    assert [hit["body"][s:e] for s, e in hit["highlights"]] == ["DÉPLOIEMENT"]


async def test_a_phrase_matches_its_words_in_order_and_a_prefix_the_words_it_begins(
    chat: Chat,
) -> None:
    ann = await chat.person("ann")
    group_id = await create_group(ann.client)
    for body in ("release tonight please", "tonight we release", "deployment done",
                 "deploying now", "we redeploy"):  # fmt: skip
        await ann.send(group_id, body)
    await ann.found("redeploy")  # the last one sent is in the index: so are the others
    assert bodies(await ann.found('"release tonight"')) == {"release tonight please"}
    assert bodies(await ann.found("tonight release")) == {
        "release tonight please", "tonight we release"
    }  # fmt: skip
    assert bodies(await ann.found("deploy*")) == {"deployment done", "deploying now"}


async def test_from_names_the_senders_in_any_case(chat: Chat) -> None:
    ann, bob = await chat.person("ann"), await chat.person("bob")
    group_id = await create_group(ann.client)
    await join(bob, group_id)
    await ann.send(group_id, "heron by ann")
    await bob.send(group_id, "heron by bob")
    await ann.found("heron", until=lambda reply: len(reply["results"]) == 2)
    assert bodies(await ann.search(f"heron from:{bob.username}")) == {"heron by bob"}
    assert bodies(await ann.search(f"heron from:{bob.username.upper()}")) == {"heron by bob"}
    both = await ann.search(f"heron from:{bob.username} from:{ann.username}")
    assert bodies(both) == {"heron by ann", "heron by bob"}


async def test_before_and_after_take_days_in_utc(chat: Chat) -> None:
    ann = await chat.person("ann")
    group_id = await create_group(ann.client)
    await ann.send(group_id, "ibis today")
    await ann.found("ibis")
    today = datetime.now(UTC).date()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    assert bodies(await ann.search(f"ibis after:{yesterday}")) == {"ibis today"}
    assert bodies(await ann.search(f"ibis before:{tomorrow}")) == {"ibis today"}
    both = await ann.search(f"ibis after:{yesterday} before:{tomorrow}")
    assert bodies(both) == {"ibis today"}
    assert (await ann.search(f"ibis after:{today}"))["results"] == []
    assert (await ann.search(f"ibis before:{today}"))["results"] == []


async def test_a_group_given_is_the_only_one_searched(chat: Chat) -> None:
    ann = await chat.person("ann")
    first, second = await create_group(ann.client, "one"), await create_group(ann.client, "two")
    await ann.send(first, "lynx in one")
    await ann.send(second, "lynx in two")
    everywhere = await ann.found("lynx", until=lambda reply: len(reply["results"]) == 2)
    assert {hit["group_id"] for hit in everywhere["results"]} == {first, second}
    assert bodies(await ann.search("lynx", group_id=first)) == {"lynx in one"}


async def test_newest_first_or_best_first(chat: Chat) -> None:
    ann = await chat.person("ann")
    group_id = await create_group(ann.client)
    best = await ann.send(group_id, "otter otter otter")
    newer = await ann.send(
        group_id, "an otter went by the river with a long list of other things to say today"
    )
    newest = await ann.found("otter", until=lambda reply: len(reply["results"]) == 2)
    assert seqs(newest) == [newer["seq"], best["seq"]]
    relevance = await ann.search("otter", order="relevance")
    assert seqs(relevance) == [best["seq"], newer["seq"]]


async def test_pages_follow_each_other_with_the_cursor_to_the_end(chat: Chat) -> None:
    ann = await chat.person("ann")
    group_id = await create_group(ann.client)
    sent = [await ann.send(group_id, f"walrus number {n}") for n in range(1, 6)]
    await ann.found("walrus", until=lambda reply: len(reply["results"]) == 5)
    pages: list[list[int]] = []
    cursor = None
    while True:
        options: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        reply = await ann.client.ok("search", {"query": "walrus", **options})
        pages.append(seqs(reply))
        cursor = reply["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 10, pages
    newest_first = [m["seq"] for m in reversed(sent)]
    assert pages == [newest_first[:2], newest_first[2:4], newest_first[4:]]

    first = await ann.client.ok("search", {"query": "walrus", "limit": 2})
    other = await ann.search("narwhal", limit=2, cursor=first["next_cursor"])
    assert other["ok"] is False and other["error"]["code"] == "invalid_query", other
    assert other["error"]["message"]


# --- only what the caller may read, now --------------------------------------------------


async def test_a_private_groups_messages_are_never_found_by_others(chat: Chat) -> None:
    ann, bob = await chat.person("ann"), await chat.person("bob")
    private = await create_group(ann.client, "secret", private=True)
    shared = await create_group(ann.client, "open")
    await join(bob, shared)
    await ann.send(private, "zebra plans, private")
    await ann.send(shared, "zebra plans, public")
    # Found by bob: the index has both (it follows the log in order); ann finds both.
    reply = await bob.found("zebra")
    assert bodies(reply) == {"zebra plans, public"}
    mine = await ann.found("zebra", until=lambda reply: len(reply["results"]) == 2)
    assert {hit["group_id"] for hit in mine["results"]} == {private, shared}
    refused = await bob.search("zebra", group_id=private)
    assert refused["ok"] is False and refused["error"]["code"] == "not_a_member"


async def test_who_left_finds_nothing_more_there(chat: Chat) -> None:
    ann, bob = await chat.person("ann"), await chat.person("bob")
    group_id = await create_group(ann.client)
    await join(bob, group_id)
    await ann.send(group_id, "puffin before bob left")
    await bob.found("puffin")
    await bob.client.ok("leave", {"group_id": group_id})
    # At once: the gateway asks only about the groups bob is in now.
    assert (await bob.search("puffin"))["results"] == []
    refused = await bob.search("puffin", group_id=group_id)
    assert refused["error"]["code"] == "not_a_member"
    assert bodies(await ann.search("puffin")) == {"puffin before bob left"}


async def test_who_was_removed_finds_nothing_more_there(chat: Chat) -> None:
    ann, bob = await chat.person("ann"), await chat.person("bob")
    group_id = await create_group(ann.client, "club", private=True)
    await ann.client.ok("invite", {"group_id": group_id, "username": bob.username})
    await join(bob, group_id)
    await ann.send(group_id, "gannet for members")
    await bob.found("gannet")
    await ann.client.ok("remove_member", {"group_id": group_id, "user_id": bob.user_id})
    await bob.client.next("member_removed")  # bob's node has read it
    assert (await bob.search("gannet"))["results"] == []
    refused = await bob.search("gannet", group_id=group_id)
    assert refused["error"]["code"] == "not_a_member"


async def test_an_edit_replaces_the_text_found_and_a_delete_removes_it(chat: Chat) -> None:
    ann = await chat.person("ann")
    group_id = await create_group(ann.client)
    sent = await ann.send(group_id, "original kiwi")
    await ann.found("kiwi")
    await ann.client.ok("edit", {"message_id": sent["message_id"], "body": "changed mango"})
    (hit,) = (await ann.found("mango"))["results"]
    assert (hit["message_id"], hit["body"]) == (sent["message_id"], "changed mango")
    assert hit["edited_at"] is not None
    await ann.found("kiwi", until=lambda reply: reply["results"] == [])

    await ann.client.ok("delete", {"message_id": sent["message_id"]})
    await ann.found("mango", until=lambda reply: reply["results"] == [])


async def test_two_gateway_nodes_give_the_same_answer(chat: Chat) -> None:
    await chat.node()
    ann = await chat.person("ann", node=0)
    ann_there = await chat.again(ann, node=1)
    group_id = await create_group(ann.client)
    for n in range(3):
        await ann.send(group_id, f"gecko {n}")
    here = await ann.found("gecko", until=lambda reply: len(reply["results"]) == 3)
    there = await ann_there.found("gecko", until=lambda reply: len(reply["results"]) == 3)
    assert there == here
    assert await ann_there.search("gecko", order="relevance", limit=2) == await ann.search(
        "gecko", order="relevance", limit=2
    )


# --- refusals ----------------------------------------------------------------------------


async def test_every_bad_search_is_refused_with_its_code(chat: Chat) -> None:
    ann, bob = await chat.person("ann"), await chat.person("bob")
    private = await create_group(ann.client, "secret", private=True)
    nobody = f"nobody{uuid.uuid4().hex[:8]}"
    cases: list[tuple[Any, str, str]] = [
        ({"query": ""}, "invalid_query", "at least one word"),
        ({"query": "x" * 10_000}, "invalid_query", "characters"),
        ({"query": '"unbalanced quotes'}, "invalid_query", "quote"),
        ({"query": f"deploy from:{nobody}"}, "invalid_query", f"no user named {nobody}"),
        ({"query": "deploy before:2026-13-45"}, "invalid_query", "before:"),
        ({"query": "deploy after:tomorrow"}, "invalid_query", "after:"),
        ({"query": "deploy after:2026-02-01 before:2026-01-01"}, "invalid_query", "after:"),
        ({"query": f"from:{ann.username} after:2020-01-01"}, "invalid_query", "word"),
        ({"query": "deploy\x07now"}, "invalid_query", "control"),
        ({"query": "d*"}, "invalid_query", "prefix"),
        ({"query": "deploy", "group_id": private}, "not_a_member", ""),
        ({"query": "deploy", "group_id": f"g{uuid.uuid4().hex}"}, "group_not_found", ""),
        ("deploy", "invalid_payload", ""),
        (["deploy"], "invalid_payload", ""),
        (None, "invalid_payload", ""),
        ({"query": "x" * 10_001}, "invalid_payload", ""),
        ({"query": "deploy", "limit": 51}, "invalid_payload", ""),
        ({"query": "deploy", "order": "oldest"}, "invalid_payload", ""),
        ({"query": "deploy", "admin": True}, "invalid_payload", ""),
        ({"query": "deploy \u202eevil"}, "invalid_text", ""),
    ]
    for payload, code, says in cases:
        reply = await bob.client.call("search", payload)
        assert reply["ok"] is False and reply["error"]["code"] == code, (payload, reply)
        assert says in reply["error"]["message"], (payload, reply)
    assert (await bob.client.ok("groups"))["groups"] == [], "the node keeps serving"


async def test_searches_have_an_allowance_of_their_own(chat: Chat) -> None:
    await chat.node(search_rate=0.05, search_burst=10)  # a token back every 20 s
    ann = await chat.person("ann", node=1)
    group_id = await create_group(ann.client)
    replies = [await ann.search("anything") for _ in range(15)]
    assert [r["ok"] for r in replies[:10]] == [True] * 10, "the burst"
    refused = [r for r in replies if not r["ok"]]
    assert len(refused) >= 4 and {r["error"]["code"] for r in refused} == {"rate_limited"}
    assert refused[0]["error"]["retry_after"] > 0
    await ann.client.ok("history", {"group_id": group_id})  # reads have their own allowance
    async with aiohttp.ClientSession() as http:  # the REST mirror spends the same allowance
        headers = {"Authorization": f"Bearer {ann.token}"}
        async with http.get(f"{chat.urls[1]}/search?q=anything", headers=headers) as response:
            assert response.status == 429 and int(response.headers["Retry-After"]) >= 1
            assert (await response.json())["error"]["code"] == "rate_limited"


async def test_without_the_search_service_a_search_is_unavailable_and_the_rest_works(
    chat_without_search: Chat,
) -> None:
    chat = chat_without_search
    ann = await chat.person("ann")
    group_id = await create_group(ann.client)
    await ann.send(group_id, "still here")
    reply = await ann.search("still")
    assert reply["ok"] is False and reply["error"]["code"] == "unavailable", reply
    history = await ann.client.ok("history", {"group_id": group_id})
    assert [m["body"] for m in history["messages"]] == ["still here"]
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {ann.token}"}
        async with http.get(f"{chat.urls[0]}/search?q=still", headers=headers) as response:
            assert response.status == 503
            assert (await response.json())["error"]["code"] == "unavailable"
        async with http.get(f"{chat.urls[0]}/readyz") as response:
            assert response.status == 200, "ready without search"


# --- the REST mirror ---------------------------------------------------------------------


async def test_the_rest_mirror_answers_as_the_socket(chat: Chat) -> None:
    ann, bob = await chat.person("ann"), await chat.person("bob")
    group_id = await create_group(ann.client)
    private = await create_group(ann.client, "secret", private=True)
    await ann.send(group_id, "marmot one")
    await ann.send(group_id, "marmot two")
    socket = await ann.found("marmot", until=lambda reply: len(reply["results"]) == 2)
    url = f"{chat.urls[0]}/search"

    async def get(person: Person | None, **query: str) -> tuple[int, Reply]:
        headers = {"Authorization": f"Bearer {person.token}"} if person else {}
        async with aiohttp.ClientSession() as http:
            async with http.get(url, params=query, headers=headers) as response:
                return response.status, await response.json()

    status, body = await get(ann, q="marmot")
    assert status == 200 and body == {k: socket[k] for k in ("results", "next_cursor")}
    status, page = await get(ann, q="marmot", limit="1", order="newest")
    assert status == 200 and len(page["results"]) == 1 and page["next_cursor"]
    status, rest = await get(ann, q="marmot", limit="1", cursor=page["next_cursor"])
    assert status == 200 and seqs(rest) == seqs(socket)[1:]
    status, scoped = await get(ann, q="marmot", group_id=group_id)
    assert status == 200 and len(scoped["results"]) == 2

    refusals = [
        (None, {"q": "marmot"}, 401, "token_missing"),
        (ann, {"q": ""}, 400, "invalid_query"),
        (ann, {"q": '"open'}, 400, "invalid_query"),
        (ann, {"q": "marmot", "limit": "many"}, 422, "invalid_payload"),
        (ann, {"q": "marmot", "order": "oldest"}, 422, "invalid_payload"),
        (bob, {"q": "marmot", "group_id": private}, 403, "not_a_member"),
    ]
    for person, query, code, error in refusals:
        status, body = await get(person, **query)
        assert (status, body["error"]["code"]) == (code, error), (query, body)
    status, body = await get(bob, q="marmot")
    assert (status, body) == (200, {"results": [], "next_cursor": None})


# --- a result in context -----------------------------------------------------------------


async def test_history_around_a_message_gives_both_sides_and_both_cursors(
    chat_without_search: Chat,
) -> None:
    chat = chat_without_search
    ann, bob = await chat.person("ann"), await chat.person("bob")
    group_id = await create_group(ann.client)
    for n in range(1, 31):
        await ann.send(group_id, f"#{n}")

    async def around(seq: int, limit: int) -> tuple[list[int], int | None, int | None]:
        reply = await ann.client.ok(
            "history", {"group_id": group_id, "around_seq": seq, "limit": limit}
        )
        assert reply["group_id"] == group_id
        bodies = [m["body"] for m in reply["messages"]]
        assert bodies == [f"#{m['seq']}" for m in reply["messages"]]
        return (
            [m["seq"] for m in reply["messages"]],
            reply["next_before_seq"],
            reply["next_after_seq"],
        )

    assert await around(15, 10) == (list(range(10, 20)), 10, 19)
    assert await around(15, 1) == ([15], 15, 15)
    assert await around(2, 10) == (list(range(1, 11)), None, 10)
    assert await around(29, 10) == (list(range(21, 31)), 21, None)
    assert await around(15, 100) == (list(range(1, 31)), None, None)
    older = await ann.client.ok("history", {"group_id": group_id, "before_seq": 10, "limit": 3})
    assert [m["seq"] for m in older["messages"]] == [9, 8, 7]
    newer = await ann.client.ok("history", {"group_id": group_id, "after_seq": 19, "limit": 3})
    assert [m["seq"] for m in newer["messages"]] == [20, 21, 22]

    both = await ann.client.call(
        "history", {"group_id": group_id, "around_seq": 5, "before_seq": 9}
    )
    assert both["error"]["code"] == "invalid_payload"
    outsider = await bob.client.call("history", {"group_id": group_id, "around_seq": 5})
    assert outsider["error"]["code"] == "not_a_member"
