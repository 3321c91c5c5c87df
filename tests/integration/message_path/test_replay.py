"""Replay: drop every projection, rebuild it from the event log, get the same documents."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from agents.replay import replay
from infra.services import start_agents_worker
from records.requests import (
    AnyRequest,
    CreateGroup,
    DeleteMessage,
    EditMessage,
    InviteMember,
    JoinGroup,
    LeaveGroup,
    MarkRead,
    RemoveMember,
    SendMessage,
)
from records.views import POSITIONS, group_shelf, is_view, page_shelf, read_slot
from tests.integration.message_path.conftest import own_agents, read_topic
from tests.integration.servers import Servers


def story(group: str, private: str) -> list[AnyRequest]:
    """Two groups' lives: joins, an invitation, messages, edits, deletes, read markers and
    mentions, a leave, a removal."""
    ann: dict[str, Any] = {"actor_id": "ann", "actor": "Ann"}
    bob: dict[str, Any] = {"actor_id": "bob", "actor": "Bob"}
    cat: dict[str, Any] = {"actor_id": "cat", "actor": "Cat"}

    def say(who: dict[str, Any], n: int, where: str = group) -> SendMessage:
        return SendMessage(group_id=where, client_msg_id=f"m{n}", body=f"#{n}", **who)

    return [
        CreateGroup(group_id=group, name="open", private=False, **ann),
        CreateGroup(group_id=private, name="closed", private=True, **bob),
        JoinGroup(group_id=group, **bob),
        JoinGroup(group_id=group, **cat),
        say(ann, 1), say(bob, 2), say(cat, 3), say(ann, 4), say(bob, 5, private),
        MarkRead(group_id=group, seq=2, **cat),
        SendMessage(group_id=group, client_msg_id="m8", body="@cat @bob see #1", **ann),
        EditMessage(group_id=group, message_id=f"{group}:1", body="#1 edited", **ann),
        DeleteMessage(group_id=group, message_id=f"{group}:2", **bob),
        InviteMember(group_id=private, invitee_id="ann", invitee="Ann", **bob),
        JoinGroup(group_id=private, **ann),
        say(ann, 6, private),
        LeaveGroup(group_id=group, **cat),
        RemoveMember(group_id=group, member_id="bob", **ann),
        say(ann, 7),
        EditMessage(group_id=group, message_id=f"{group}:4", body="#4 edited", **ann),
    ]  # fmt: skip


async def snapshot(database: Any) -> dict[str, dict[str, Any]]:
    """Every view but the projector's positions (a replay records the log's end, the live
    projector the offset after its last fact: the same place, told apart by a commit marker)."""
    return {
        name: {doc["_id"]: doc async for doc in database[name].find()}
        for name in await database.list_collection_names()
        if is_view(name) and name != POSITIONS
    }


async def projected(database: Any, expected: dict[str, dict[str, int]]) -> None:
    """Wait until the live projector has written the whole story: each group's positions."""
    async with asyncio.timeout(30):
        while True:
            docs = {
                group: await database[group_shelf(group)].find_one({"_id": group}) or {}
                for group in expected
            }
            if all(
                all(docs.get(group, {}).get(key) == value for key, value in positions.items())
                for group, positions in expected.items()
            ):
                return
            await asyncio.sleep(0.05)


async def test_a_replay_rebuilds_the_projections_exactly(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings, env = own_agents(servers, "replay")
    run = settings.app_id.rsplit("-", 1)[-1]
    group, private = f"open-{run}", f"closed-{run}"
    requests = story(group, private)
    expected_facts = (
        20  # 2 created, 3 joined, 1 invited, 8 saved, 2 edited, 1 deleted, read, left, removed
    )

    worker = await asyncio.to_thread(
        start_agents_worker, env, tmp_path_factory.mktemp("replay") / "agents.log"
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        for request in requests:
            await producer.send_and_wait(
                settings.topics.requests, request.to_bytes(), key=request.group_id.encode()
            )
        facts = await read_topic(servers, settings.topics.events, lambda r: True, expected_facts)
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            servers.mongodb_uri, tz_aware=True
        )
        database = client[settings.mongodb_database]
        await projected(
            database,
            {
                group: {"last_seq": 6, "last_change": 3, "version": 5},
                private: {"last_seq": 2, "version": 3},
            },
        )
    finally:
        await producer.stop()
        await asyncio.to_thread(worker.stop)
    assert len(facts) == expected_facts

    try:
        before = await snapshot(database)
        report = await replay(settings)
        after = await snapshot(database)
    finally:
        await client.drop_database(settings.mongodb_database)
        await client.close()

    assert (report.facts, report.unreadable) == (expected_facts, 0)
    assert after == before
    groups = {g: before[group_shelf(g)][g] for g in (group, private)}
    assert set(groups[group]["members"]) == {"ann"}
    assert set(groups[private]["members"]) == {"bob", "ann"}
    assert groups[group]["last_seq"] == 6 and groups[private]["last_seq"] == 2
    # The mentions are rebuilt as they were (the counts with them: ``after == before``).
    assert pages_mentions(before, group) == {5: ["cat", "bob"]}
    pages = {k: read_slot(v) for k, v in before[page_shelf(group, 0)][0]["m"].items()}
    assert (pages["0"]["body"], pages["1"]["deleted"], pages["3"]["body"]) == (
        "#1 edited", True, "#4 edited"
    )  # fmt: skip
    assert sum(len(p["m"]) for name, docs in before.items() if name.startswith("pages.")
               for p in docs.values()) == 8  # fmt: skip


def pages_mentions(views: dict[str, dict[str, Any]], group: str) -> dict[int, list[str]]:
    slots = [read_slot(slot) for slot in views[page_shelf(group, 0)][0]["m"].values()]
    return {int(slot["seq"]): slot["mentions"] for slot in slots if slot.get("mentions")}
