"""The projector writes the views from the log, resumes from its recorded position, and
a fact MongoDB refuses for good is skipped instead of stalling its partition for ever."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaProducer

from agents.projector import Projector
from agents.settings import Settings
from records.base import utcnow
from records.facts import Fact, GroupCreated, MemberInvited, MessageSaved
from records.kafka import ensure_topics, partitions_of
from records.views import POSITIONS, group_shelf, page_shelf, position_id, read_slot
from tests.integration.servers import Servers, agent_settings


def settings_for(servers: Servers, database: Any) -> Settings:
    return agent_settings(
        servers,
        "projection",
        mongodb_database=database.name,
        max_attempts=2,
        retry_backoff_max=0.2,
        session_timeout=6,
    )


def created(group: str) -> GroupCreated:
    return GroupCreated(
        group_id=group, name="g", private=False, owner_id="ann", owner="Ann", version=1
    )


def saved(group: str, seq: int) -> MessageSaved:
    return MessageSaved(
        message_id=f"{group}:{seq}", group_id=group, seq=seq, sender_id="ann", sender="Ann",
        client_msg_id=f"c{seq}", body=f"#{seq}", saved_at=utcnow(),
    )  # fmt: skip


async def publish(settings: Settings, facts: list[Fact]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        for fact in facts:
            await producer.send_and_wait(
                settings.topics.events, fact.to_bytes(), key=fact.group_id.encode()
            )
    finally:
        await producer.stop()


async def page(database: Any, group: str, slots: int) -> dict[str, Any]:
    """The group's first page once it holds messages 1 … ``slots`` and the group's view has
    moved to them (its ``last_seq`` is written after the page)."""
    async with asyncio.timeout(30):
        while True:
            doc = await database[page_shelf(group, 0)].find_one({"_id": 0})
            counted = await database[group_shelf(group)].find_one({"_id": group}, {"last_seq": 1})
            if (
                doc is not None
                and len(doc["m"]) >= slots
                and (counted or {}).get("last_seq", 0) >= slots
            ):
                return {key: read_slot(value) for key, value in doc["m"].items()}
            await asyncio.sleep(0.05)


async def projected(projector: Projector, count: int) -> int:
    """How many facts ``projector`` has applied once it has applied ``count``: its counter
    moves after the views and the position are written, a moment after ``page`` sees them."""
    async with asyncio.timeout(30):
        while projector.projected < count:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return projector.projected


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Projector]:
    """A projector running in this process for the duration of the block."""
    projector = Projector(settings)
    task = asyncio.create_task(projector.run())
    try:
        yield projector
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_fact_mongodb_refuses_is_skipped_and_the_next_ones_are_projected(
    servers: Servers, database: Any
) -> None:
    settings = settings_for(servers, database)
    await ensure_topics(settings)
    group = f"g-{uuid.uuid4().hex[:8]}"
    # A field name may not start with "$": MongoDB refuses this write however often it is tried.
    poison = MemberInvited(group_id=group, user_id="$bad", username="x", by_id="ann", version=2)
    await publish(settings, [created(group), saved(group, 1), poison, saved(group, 2)])

    async with running(settings) as projector:
        slots = await page(database, group, 2)
    assert [slots[k]["body"] for k in sorted(slots, key=int)] == ["#1", "#2"]
    assert projector.skipped == 1
    doc = await database[group_shelf(group)].find_one({"_id": group})
    assert doc["last_seq"] == 2 and doc["invited"] == {}


async def test_the_projector_resumes_from_its_recorded_position(
    servers: Servers, database: Any
) -> None:
    settings = settings_for(servers, database)
    await ensure_topics(settings)
    group = f"g-{uuid.uuid4().hex[:8]}"
    await publish(settings, [created(group), saved(group, 1)])
    for expected in (1, 2):
        async with running(settings) as projector:
            await page(database, group, expected)
            # The second run applies only what came after the first one's position.
            count = 2 if expected == 1 else 1
            assert await projected(projector, count) == count
        await publish(settings, [saved(group, 2)])


async def test_views_recorded_under_an_earlier_layout_are_built_again_from_the_start(
    servers: Servers, database: Any
) -> None:
    settings = settings_for(servers, database)
    await ensure_topics(settings)
    group = f"g-{uuid.uuid4().hex[:8]}"
    await publish(settings, [created(group), saved(group, 1), saved(group, 2)])
    # A projector of the earlier layout (every group in one collection) had applied it all.
    partitions = await partitions_of(settings, settings.topics.events)
    await database[POSITIONS].insert_many(
        [{"_id": f"events:{p}", "offset": 1_000_000} for p in partitions]
    )
    await database["groups"].insert_one({"_id": group, "last_seq": 2})

    async with running(settings) as projector:
        slots = await page(database, group, 2)
        assert await projected(projector, 3) == 3
    assert [slots[k]["body"] for k in sorted(slots, key=int)] == ["#1", "#2"]
    doc = await database[group_shelf(group)].find_one({"_id": group})
    assert doc["last_seq"] == 2 and set(doc["members"]) == {"ann"}
    recorded = {doc["_id"] async for doc in database[POSITIONS].find()}
    assert {position_id(p) for p in partitions} <= recorded
