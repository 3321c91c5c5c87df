"""The search service on a real Kafka: what is committed to the log is found through
``POST /search`` (edits and deletes too), and a restarted service resumes where its index
is, instead of reading the log again from its start."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

from records.base import utcnow
from records.facts import MessageDeleted, MessageEdited, MessageSaved
from search.rebuild import rebuild
from search.settings import Settings
from search.typedefs import follower_key
from tests.integration.search.conftest import (
    Client,
    LogWriter,
    found_within,
    search,
    start_search,
)

_seq = itertools.count(1)


def saved(group: str, seq: int, body: str) -> MessageSaved:
    return MessageSaved(
        message_id=f"{group}:{seq}", group_id=group, seq=seq, sender_id="ann", sender="ann",
        client_msg_id=f"c{next(_seq)}", body=body, saved_at=utcnow() + timedelta(seconds=seq),
    )  # fmt: skip


def edited(group: str, seq: int, body: str, change: int) -> MessageEdited:
    return MessageEdited(
        group_id=group, message_id=f"{group}:{seq}", seq=seq, body=body, by_id="ann", change=change
    )


def deleted(group: str, seq: int, change: int) -> MessageDeleted:
    return MessageDeleted(
        group_id=group, message_id=f"{group}:{seq}", seq=seq, by_id="ann", change=change
    )


async def facts_applied(client: Client) -> int:
    """The facts the service's follower has applied, once it has applied any: its counter
    moves when the round's transaction has committed, a moment after a search sees it."""
    follower = client.app[follower_key]
    async with asyncio.timeout(10):
        while follower.applied == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    return follower.applied


async def test_what_the_log_says_is_found_edited_and_deleted(
    search_settings: Settings, log_writer: LogWriter
) -> None:
    client = await start_search(search_settings)
    try:
        await log_writer.write(
            saved("g1", 1, "Un café au lait"), saved("g1", 2, "deploy tonight"),
            saved("g2", 1, "café secret"),
        )  # fmt: skip
        await found_within(client, "CAFE", ["g1"], ["g1:1"])
        answer = await search(client, "cafe", ["g1", "g2"])
        assert [(h["message_id"], h["highlights"]) for h in answer["results"]] == [
            ("g2:1", [[0, 4]]),
            ("g1:1", [[3, 7]]),
        ]
        # Acknowledged (committed), then findable within a second.
        await log_writer.write(saved("g1", 3, "standup moved"))
        delay = await found_within(client, "standup", ["g1"], ["g1:3"])
        assert delay < 1.0, f"found {delay:.2f} s after it was committed"

        await log_writer.write(edited("g1", 2, "deploy tomorrow", change=1))
        await found_within(client, "tomorrow", ["g1"], ["g1:2"])
        assert (await search(client, "tonight", ["g1"]))["results"] == []

        await log_writer.write(deleted("g1", 1, change=2))
        await found_within(client, "cafe", ["g1", "g2"], ["g2:1"])
    finally:
        await client.close()


async def test_refusals_are_json_errors(search_settings: Settings, log_writer: LogWriter) -> None:
    client = await start_search(search_settings)
    try:
        await log_writer.write(*(saved("g1", n, "standup") for n in (1, 2)))
        await found_within(client, "standup", ["g1"], ["g1:2", "g1:1"])
        first = await search(client, "standup", ["g1"], limit=1)
        assert first["next_cursor"] is not None
        body = {
            "query": {"words": ["lunch"]},
            "group_ids": ["g1"],
            "cursor": first["next_cursor"],
        }
        response = await client.post("/search", json=body)
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "invalid_query"
        for bad in ({"query": {"words": ["x"]}}, {"query": {}, "group_ids": ["g1"]}):
            response = await client.post("/search", json=bad)
            assert response.status == 400
            code = (await response.json())["error"]["code"]
            assert code == ("invalid_payload" if "group_ids" not in bad else "invalid_query")
        response = await client.post("/search", data=b"{not json")
        assert (await response.json())["error"]["code"] == "invalid_payload"
        metrics = await (await client.get("/metrics")).text()
        assert 'chat_search_facts_total{type="MessageSaved"} 2.0' in metrics
        assert 'chat_search_searches_total{outcome="invalid_query"} 2.0' in metrics
    finally:
        await client.close()


async def test_a_restarted_service_resumes_from_its_recorded_position(
    search_settings: Settings, log_writer: LogWriter
) -> None:
    await log_writer.write(saved("g1", 1, "before the start"), saved("g1", 2, "before too"))
    await log_writer.garbage(b"not a fact")
    client = await start_search(search_settings)
    try:
        await found_within(client, "before", ["g1"], ["g1:2", "g1:1"])
        assert await facts_applied(client) == 2
        assert client.app[follower_key].unreadable == 1
    finally:
        await client.close()

    await log_writer.write(saved("g1", 3, "while it was away, before it came back"))
    client = await start_search(search_settings)
    try:
        await found_within(client, "before", ["g1"], ["g1:3", "g1:2", "g1:1"])
        assert await facts_applied(client) == 1, "only what came after the recorded position"
        assert client.app[follower_key].unreadable == 0
        metrics = await (await client.get("/metrics")).text()
        assert 'chat_search_facts_total{type="MessageSaved"} 1.0' in metrics
    finally:
        await client.close()


async def test_a_rebuild_leaves_deleted_messages_out(
    search_settings: Settings, log_writer: LogWriter
) -> None:
    await log_writer.write(saved("g1", 1, "keep this"), saved("g1", 2, "drop this"))
    await log_writer.write(edited("g1", 2, "drop this, edited", change=1))
    await log_writer.write(deleted("g1", 2, change=2), saved("g1", 3, "and this"))
    follower = await rebuild(search_settings)
    assert follower.applied == 5
    client = await start_search(search_settings)
    try:
        await found_within(client, "this", ["g1"], ["g1:3", "g1:1"])
        assert client.app[follower_key].applied == 0, "the index is at the log's end"
    finally:
        await client.close()
