"""The topics follow their declaration: a deployment whose requests topic was made with a
longer retention (or none) gets the bounded one at the next start, so deleted bodies do not
stay in it for ever."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from records.kafka import KEEP_FOREVER, ensure_topics, topic_configs
from tests.integration.servers import Servers, agent_settings


async def test_existing_topics_get_the_declared_retention(servers: Servers) -> None:
    settings = agent_settings(servers, "topics", requests_retention_hours=2)
    topics = settings.topics
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        # As an older deployment made them: the requests and dead letters kept for ever.
        # An operator's own override on one of them stays.
        old = [NewTopic(name, 1, 1, topic_configs={**KEEP_FOREVER, "max.message.bytes": "200000"})
               for name in (topics.requests, topics.dead_letter)]  # fmt: skip
        await admin.create_topics(old)
        before = await topic_configs(admin, [topics.requests, topics.dead_letter])
        assert {before[t]["retention.ms"] for t in before} == {"-1"}

        await ensure_topics(settings)
        two_hours = str(2 * 3600 * 1000)
        async with asyncio.timeout(10):  # the brokers learn of a change from the controller
            while True:
                names = [topics.requests, topics.dead_letter, topics.events]
                after = await topic_configs(admin, names)
                if after[topics.requests]["retention.ms"] == two_hours:
                    break
                await asyncio.sleep(0.1)
        assert after[topics.dead_letter]["retention.ms"] == two_hours
        assert after[topics.requests]["max.message.bytes"] == "200000"
        assert after[topics.events]["retention.ms"] == "-1"  # the log: for ever, as created
        await ensure_topics(settings)  # nothing left to change: a no-op
    finally:
        await admin.close()


async def test_reading_the_settings_of_a_topic_that_never_appears_fails(servers: Servers) -> None:
    settings = agent_settings(servers, "no-topic")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(RuntimeError, match="could not read the settings"):
            await topic_configs(admin, [settings.topics.requests], within=1.0)
        # It waited for the topic to appear (as one made a moment ago does) before giving up.
        assert asyncio.get_running_loop().time() - started >= 1.0
    finally:
        await admin.close()
