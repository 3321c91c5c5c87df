"""A worker stopped cleanly hands its partitions to the other at once, even as a static
member whose partitions would otherwise wait for its session to time out."""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiokafka import AIOKafkaProducer

from agents.decider import Decider
from records.facts import read_fact
from records.kafka import ensure_topics
from records.requests import CreateGroup
from tests.integration.agents.test_decider import read_all
from tests.integration.servers import Servers, agent_settings

SESSION = 60.0
"""Long, so that a handover before it can only be the stopped worker's leave."""


async def owned_by(deciders: list[Decider], partitions: int) -> list[set[int]]:
    """Wait until every partition is owned by exactly one of ``deciders``, each of which
    owns some."""
    while True:
        owned = [set(decider.owned) for decider in deciders]
        if all(owned) and sorted(p for o in owned for p in o) == list(range(partitions)):
            return owned
        await asyncio.sleep(0.1)


async def test_a_stopped_static_worker_hands_its_partitions_over_at_once(
    servers: Servers,
) -> None:
    base = agent_settings(servers, "handover", topic_partitions=4, session_timeout=SESSION)
    await ensure_topics(base)
    first = Decider(base.model_copy(update={"instance_id": "worker-1"}))
    second = Decider(base.model_copy(update={"instance_id": "worker-2"}))
    tasks = [asyncio.create_task(first.run())]
    async with asyncio.timeout(60):
        await owned_by([first], 4)
    tasks.append(asyncio.create_task(second.run()))
    producer = AIOKafkaProducer(bootstrap_servers=base.bootstrap_servers)
    await producer.start()
    try:
        async with asyncio.timeout(60):  # the second joins: the partitions are shared out
            await owned_by([first, second], 4)

        stopped = time.monotonic()
        tasks[0].cancel()  # as on SIGTERM: the worker's loops end, it stops its consumer
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[0]
        async with asyncio.timeout(SESSION / 2):
            await owned_by([second], 4)
        print(f"partitions handed over {time.monotonic() - stopped:.1f} s after the stop")

        # And the survivor decides for every partition.
        groups = [f"g{n}" for n in range(8)]
        for group_id in groups:
            request = CreateGroup(
                name=group_id, private=False, actor_id="ann", actor="Ann", group_id=group_id
            )
            await producer.send_and_wait(
                base.topics.requests, request.to_bytes(), key=group_id.encode()
            )
        records = await read_all(base, base.topics.events, len(groups))
        assert sorted(read_fact(r.value).group_id for r in records) == groups
    finally:
        await producer.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
