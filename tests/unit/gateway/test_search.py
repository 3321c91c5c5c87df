"""Search as the gateway runs it, with nothing running: the command, the query read, the groups
the caller may read, ``from:`` found, the search service's answers and failures turned into
the client's, and the payloads. (The service here is a stand-in on a local port.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from gateway.client_events import search_results
from gateway.commands import CommandError, HistoryCommand, SearchCommand, parse
from gateway.directory import User
from gateway.metrics import GatewayMetrics
from gateway.readmodel import ReadModel
from gateway.search import (
    MAX_SENDERS,
    SearchClient,
    groups_to_search,
    read_query,
    search_messages,
    sender_ids,
)
from gateway.seen import SeenLog
from gateway.settings import Settings
from records.facts import MemberLeft
from records.search import SearchAnswer, SearchHit, SearchRequest, parse_query
from records.views import POSITIONS, PUBLIC_GROUPS, Group
from tests.unit.gateway.test_handling import Limits, namespace

HIT = SearchHit(
    group_id="g1", message_id="g1:3", seq=3, sender_id="u-ann", sender="ann",
    body="Déploiement ce soir", saved_at="2026-01-02T03:04:05.000000Z", highlights=[(0, 12)],
)  # fmt: skip


def settings(search_url: str = "http://127.0.0.1:1", timeout: float = 5.0) -> Settings:
    return Settings(
        redis_url="redis://r", kafka_url="k:1", mongodb_uri="mongodb://m",
        jwt_secret=SecretStr("s" * 32), search_url=search_url, search_timeout=timeout,
    )  # fmt: skip


# --- the command -------------------------------------------------------------------------


def test_a_long_query_is_the_query_readers_to_refuse_not_the_payloads() -> None:
    command = parse(SearchCommand, {"query": "x" * 10_000})
    with pytest.raises(CommandError) as caught:
        read_query(command.query)
    assert caught.value.code == "invalid_query" and "at most" in caught.value.message
    with pytest.raises(CommandError) as caught:
        parse(SearchCommand, {"query": "x" * 10_001})
    assert caught.value.code == "invalid_payload"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "deploy",
        {},
        {"query": 1},
        {"query": "a", "order": "oldest"},
        {"query": "a", "limit": 0},
        {"query": "a", "limit": 51},
        {"query": "a", "cursor": ""},
        {"query": "a", "cursor": "c" * 513},
        {"query": "a", "group_id": "../x"},
        {"query": "a", "extra": True},
    ],
)
def test_a_search_of_the_wrong_shape_is_an_invalid_payload(payload: Any) -> None:
    with pytest.raises(CommandError) as caught:
        parse(SearchCommand, payload)
    assert caught.value.code == "invalid_payload"


def test_a_search_takes_twenty_newest_unless_told() -> None:
    command = parse(SearchCommand, {"query": "deploy"})
    assert (command.order, command.limit, command.cursor, command.group_id) == (
        "newest", 20, None, None
    )  # fmt: skip


@pytest.mark.parametrize(
    "cursors",
    [
        {"before_seq": 5, "after_seq": 1},
        {"before_seq": 5, "around_seq": 3},
        {"after_seq": 5, "around_seq": 3},
    ],
)
def test_history_takes_one_cursor(cursors: dict[str, int]) -> None:
    with pytest.raises(CommandError) as caught:
        parse(HistoryCommand, {"group_id": "g", **cursors})
    assert caught.value.code == "invalid_payload"
    assert parse(HistoryCommand, {"group_id": "g", "around_seq": 3}).around_seq == 3


# --- the query ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "at least one word"),
        ('"deploy', "quote"),
        ("from:ann before:yesterday", "before:yesterday"),
        ("from:ann after:2026-01-01", "at least one word"),
        ("deploy\x01", "control"),
    ],
)
def test_a_query_that_cannot_be_searched_is_an_invalid_query_saying_why(
    text: str, says: str
) -> None:
    with pytest.raises(CommandError) as caught:
        read_query(text)
    assert caught.value.code == "invalid_query" and says in caught.value.message


def test_from_names_a_few_people_at_most() -> None:
    names = " ".join(f"from:user{n}" for n in range(MAX_SENDERS))
    assert len(read_query(f"deploy {names}").senders) == MAX_SENDERS
    with pytest.raises(CommandError) as caught:
        read_query(f"deploy {names} from:one.more")
    assert caught.value.code == "invalid_query"


# --- from: -------------------------------------------------------------------------------


@dataclass
class Directory:
    users: dict[str, str] = field(default_factory=dict)
    down: bool = False
    asked: list[str] = field(default_factory=list)

    async def find(self, *, username: str | None = None, user_id: str | None = None) -> User:
        assert username is not None
        self.asked.append(username)
        if self.down:
            raise CommandError("unavailable", "users cannot be looked up now; try again")
        if username.casefold() not in self.users:
            raise CommandError("user_not_found", "there is no such user")
        return User(self.users[username.casefold()], username)


async def test_from_names_are_found_in_auth_and_an_unknown_one_is_an_invalid_query() -> None:
    directory = Directory({"ann": "u-ann", "bob": "u-bob"})
    assert await sender_ids(directory, ["Ann", "bob"]) == ["u-ann", "u-bob"]  # type: ignore[arg-type]
    with pytest.raises(CommandError) as caught:
        await sender_ids(directory, ["ann", "nobody"])  # type: ignore[arg-type]
    assert caught.value.code == "invalid_query"
    assert "no user named nobody" in caught.value.message
    with pytest.raises(CommandError) as caught:
        await sender_ids(Directory(down=True), ["ann"])  # type: ignore[arg-type]
    assert caught.value.code == "unavailable"


# --- the groups --------------------------------------------------------------------------


def group(group_id: str, members: list[str], version: int = 1, last_seq: int = 9) -> Group:
    return Group(
        group_id=group_id, name=group_id, private=False, owner_id=members[0], last_seq=last_seq,
        last_change=0, version=version, members={m: {"username": m} for m in members},
        invited={},
    )  # fmt: skip


@dataclass
class Reads:
    """The read model as ``groups_to_search`` uses it."""

    groups: dict[str, Group]
    seen: SeenLog = field(default_factory=SeenLog)
    caught_up_for: list[str] = field(default_factory=list)

    async def current_group(self, group_id: str) -> Group | None:
        return self.groups.get(group_id)

    member_group = ReadModel.member_group  # the real check, over ``current_group`` above

    async def caught_up_with(self, user_id: str) -> None:
        self.caught_up_for.append(user_id)

    async def groups_of(self, user_id: str) -> list[Group]:
        return [g for g in self.groups.values() if user_id in g.members]


async def test_the_groups_searched_are_the_callers_now() -> None:
    reads = Reads({"g1": group("g1", ["ann", "bob"]), "g2": group("g2", ["bob"])})
    assert await groups_to_search(reads, "ann", None) == ["g1"]  # type: ignore[arg-type]
    assert reads.caught_up_for == ["ann"], "after the views show their own changes"
    assert await groups_to_search(reads, "ann", "g1") == ["g1"]  # type: ignore[arg-type]
    with pytest.raises(CommandError) as caught:
        await groups_to_search(reads, "ann", "g2")  # type: ignore[arg-type]
    assert caught.value.code == "not_a_member"
    with pytest.raises(CommandError) as caught:
        await groups_to_search(reads, "ann", "g3")  # type: ignore[arg-type]
    assert caught.value.code == "group_not_found"


async def test_a_group_left_is_not_searched_though_the_views_still_show_the_member() -> None:
    reads = Reads({"g1": group("g1", ["ann", "bob"], version=4)})
    left = MemberLeft(group_id="g1", user_id="ann", username="ann", version=5)
    reads.seen.read(left, partition=0, offset=7)  # read in the log; the view is still at 4
    assert await groups_to_search(reads, "ann", None) == []  # type: ignore[arg-type]
    assert await groups_to_search(reads, "bob", None) == ["g1"]  # type: ignore[arg-type]
    with pytest.raises(CommandError) as caught:
        await groups_to_search(reads, "ann", "g1")  # type: ignore[arg-type]
    assert caught.value.code == "not_a_member"


# --- the service -------------------------------------------------------------------------

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def service() -> AsyncIterator[Callable[[Answer], Awaitable[str]]]:
    """A stand-in search service answering ``POST /search`` as the test says; its URL."""
    servers: list[TestServer] = []

    async def start(answer: Answer) -> str:
        app = web.Application()
        app.router.add_post("/search", answer)
        server = TestServer(app)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


async def ask(url: str, request: SearchRequest, wait: float = 5.0) -> SearchAnswer:
    async with aiohttp.ClientSession() as session:
        return await SearchClient(settings(url, wait), session).search(request)


REQUEST = SearchRequest(query=parse_query("déploi* from:ann"), group_ids=["g1"], limit=5)


async def test_the_service_is_asked_the_request_and_its_answer_read(service: Any) -> None:
    asked: list[Any] = []

    async def answer(request: web.Request) -> web.Response:
        asked.append(await request.json())
        return web.json_response(SearchAnswer(results=[HIT], next_cursor="c2").model_dump())

    found = await ask(await service(answer), REQUEST)
    assert found == SearchAnswer(results=[HIT], next_cursor="c2")
    assert SearchRequest.model_validate(asked[0]) == REQUEST


@pytest.mark.parametrize("code", ["invalid_query", "invalid_payload"])
async def test_a_query_the_service_refuses_is_refused_in_its_words(service: Any, code: str) -> None:
    async def answer(request: web.Request) -> web.Response:
        error = {"code": code, "message": "this cursor belongs to another query"}
        return web.json_response({"error": error}, status=400)

    with pytest.raises(CommandError) as caught:
        await ask(await service(answer), REQUEST)
    assert (caught.value.code, caught.value.message) == (
        code, "this cursor belongs to another query"
    )  # fmt: skip


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(5)
    return web.json_response({"results": []})


async def not_json(request: web.Request) -> web.Response:
    return web.Response(text="<html>hello</html>", content_type="text/html")


async def not_an_answer(request: web.Request) -> web.Response:
    return web.json_response({"found": []})


async def failing(request: web.Request) -> web.Response:
    return web.json_response({"error": {"code": "internal", "message": "boom"}}, status=500)


async def other_refusal(request: web.Request) -> web.Response:
    return web.json_response({"error": {"code": "teapot", "message": "no"}}, status=400)


async def missing(request: web.Request) -> web.Response:
    return web.Response(status=404, text="not found")


@pytest.mark.parametrize(
    "answer", [slow, not_json, not_an_answer, failing, other_refusal, missing]
)  # fmt: skip
async def test_a_service_that_does_not_answer_well_is_unavailable(
    service: Any, answer: Answer
) -> None:
    with pytest.raises(CommandError) as caught:
        await ask(await service(answer), REQUEST, wait=0.3)
    assert caught.value.code == "unavailable"


async def test_a_service_that_is_not_there_is_unavailable() -> None:
    server = TestServer(web.Application())
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    await server.close()  # nothing listens there now
    with pytest.raises(CommandError) as caught:
        await ask(url, REQUEST)
    assert caught.value.code == "unavailable"


# --- the search as a whole, and its payload ----------------------------------------------


@dataclass
class Service:
    answer: SearchAnswer
    asked: list[SearchRequest] = field(default_factory=list)

    async def search(self, request: SearchRequest) -> SearchAnswer:
        self.asked.append(request)
        return self.answer


async def test_the_request_carries_the_groups_the_senders_and_the_paging() -> None:
    service = Service(SearchAnswer(results=[HIT], next_cursor="next"))
    command = parse(
        SearchCommand, {"query": "deploy from:ann", "order": "relevance", "limit": 3, "cursor": "c"}
    )
    directory = Directory({"ann": "u-ann"})
    answer = await search_messages(
        service,
        directory,
        command,
        read_query(command.query),
        ["g1", "g2"],  # type: ignore[arg-type]
    )
    assert answer.results == [HIT]
    (request,) = service.asked
    assert (request.group_ids, request.sender_ids) == (["g1", "g2"], ["u-ann"])
    assert (request.order, request.limit, request.cursor) == ("relevance", 3, "c")
    assert request.query == parse_query("deploy from:ann")


async def test_a_member_of_nothing_finds_nothing_without_asking() -> None:
    service = Service(SearchAnswer(results=[HIT]))
    command = parse(SearchCommand, {"query": "deploy"})
    answer = await search_messages(service, Directory(), command, read_query("deploy"), [])  # type: ignore[arg-type]
    assert answer == SearchAnswer(results=[], next_cursor=None) and service.asked == []


async def test_a_hit_outside_the_groups_asked_about_is_dropped() -> None:
    stray = HIT.model_copy(update={"group_id": "secret", "message_id": "secret:1"})
    service = Service(SearchAnswer(results=[stray, HIT], next_cursor=None))
    command = parse(SearchCommand, {"query": "deploy"})
    answer = await search_messages(service, Directory(), command, read_query("deploy"), ["g1"])  # type: ignore[arg-type]
    assert answer.results == [HIT]


def test_the_payload_of_the_messages_found() -> None:
    payload = search_results(SearchAnswer(results=[HIT], next_cursor="next"))
    assert payload == {
        "results": [
            {
                "group_id": "g1", "message_id": "g1:3", "seq": 3, "sender_id": "u-ann",
                "sender": "ann", "body": "Déploiement ce soir",
                "saved_at": "2026-01-02T03:04:05.000000Z", "edited_at": None,
                "highlights": [[0, 12]],
            }
        ],
        "next_cursor": "next",
    }  # fmt: skip


async def test_the_search_event_refuses_before_it_asks_anyone() -> None:
    limits = Limits()
    ns = namespace(limits, GatewayMetrics())
    reply = await ns.trigger_event("search", "s1", ["deploy"])
    assert reply["error"]["code"] == "invalid_payload"
    reply = await ns.trigger_event("search", "s1", {"query": '"deploy'})
    assert reply["error"]["code"] == "invalid_query"
    assert limits.spent == [("ann", "search"), ("ann", "search")]


# --- a result opened in context: history around a message --------------------------------


def reads_of(last_seq: int) -> tuple[ReadModel, Group]:
    reads = ReadModel({POSITIONS: None, PUBLIC_GROUPS: None})  # type: ignore[arg-type]

    async def messages_between(group_id: str, first: int, last: int) -> AsyncIterator[Any]:
        for seq in range(first, last + 1):
            yield {"group_id": group_id, "seq": seq}

    reads.messages_between = messages_between  # type: ignore[method-assign]
    return reads, group("g1", ["ann"], last_seq=last_seq)


@pytest.mark.parametrize(
    ("last_seq", "around", "limit", "seqs", "before", "after"),
    [
        (100, 50, 10, range(45, 55), 45, 54),  # half before it, it and the rest after
        (100, 50, 1, range(50, 51), 50, 50),
        (100, 3, 10, range(1, 11), None, 10),  # near the start: more after
        (100, 99, 10, range(91, 101), 91, None),  # near the end: more before
        (5, 3, 50, range(1, 6), None, None),  # the whole group
        (5, 9, 4, range(2, 6), 2, None),  # past the end: the newest
        (0, 1, 10, range(0), None, None),  # no messages
    ],
)
async def test_history_around_a_message(
    last_seq: int, around: int, limit: int, seqs: range, before: int | None, after: int | None
) -> None:
    reads, g = reads_of(last_seq)
    messages, next_before, next_after = await reads.history_around(g, around, limit)
    assert [m["seq"] for m in messages] == list(seqs)
    assert (next_before, next_after) == (before, after)
