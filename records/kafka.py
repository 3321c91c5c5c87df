"""Kafka topics as the system declares them, created idempotently at service start.

Both the gateway (which produces to the incoming topic) and the agents (which consume it)
call ``ensure_topics``, so whichever starts first creates them with the intended partition
count and retention, instead of leaving that to the broker's auto-create defaults.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError
from aiokafka.partitioner import DefaultPartitioner, murmur2

from records.settings import KafkaSettings

log = logging.getLogger(__name__)

KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
KEEP_A_DAY = {"retention.ms": str(24 * 3600 * 1000)}
KEEP_TOMBSTONES_MS = 100 * 365 * 24 * 3600 * 1000
LIVE_FETCH_WAIT_MS = 100
"""Longest a consumer on the message path lets the broker hold an empty fetch. A parked
read-committed fetch is answered the moment a transaction commits (measured: commit to
receipt the same at 20 and 500 ms), so the wait sets what an idle consumer costs (each poll
is a request the broker answers: at 20 ms, two nodes and two workers idle took a third of a
core) and how long a seek or a new assignment can wait behind a parked fetch."""
BATCH_BYTES = 256 * 1024
"""Largest batch a producer on the message path sends to one partition (aiokafka's default is
16 KiB): with one batch in flight per partition, small batches cap a partition's throughput
at a few hundred records a round trip."""
SNAPSHOT_BYTES = 64 * 1024 * 1024
"""Largest snapshot of one partition's decision state (compressed)."""
COMPACTED = {"cleanup.policy": "compact", "max.message.bytes": str(SNAPSHOT_BYTES)}


def committed_reader(settings: KafkaSettings, **options: Any) -> AIOKafkaConsumer:
    """A consumer of committed records only, in no consumer group, that commits no offsets:
    how the log, its keys and the replies are read (the fold, the gateway's log reader and
    its replies, the keyring, a replay). Facts, keys and answers are written in transactions,
    so an uncommitted record is one that may yet be aborted. ``options`` go to aiokafka
    (``fetch_max_wait_ms=LIVE_FETCH_WAIT_MS`` on the message path)."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **options,
    )


class KeyPartitioner:
    """aiokafka's default partitioner (murmur2 of the key, as Java's client, so every
    producer puts a group's requests in the same partition), with each key's hash kept: the
    hash is pure Python, a fiftieth of a gateway node's CPU when computed for every send,
    and a node's sends come from the same few thousand groups."""

    def __init__(self, remembered: int = 65_536) -> None:
        self._hash = functools.lru_cache(maxsize=remembered)(murmur2)

    def __call__(
        self, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
    ) -> int:
        if key is None:
            return int(DefaultPartitioner()(key, all_partitions, available))
        return all_partitions[(self._hash(key) & 0x7FFFFFFF) % len(all_partitions)]


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def chat_topics(settings: KafkaSettings) -> list[TopicSpec]:
    """Every topic of the chat. The event log is the source of truth: kept forever, its bodies
    sealed, their keys on a compacted topic of their own that a delete erases them from within
    ``erase_within_hours``; requests and dead letters for ``requests_retention_hours`` (they
    hold message bodies a delete must not leave behind for ever); replies matter only for
    seconds. Requests, events and keys are co-partitioned: the facts of requests partition
    ``p`` go to events partition ``p`` with their keys to keys partition ``p``, and snapshots
    of its decision state to snapshots partition ``p``."""
    topics = settings.topics
    bounded = {"retention.ms": str(int(settings.requests_retention_hours * 3600 * 1000))}
    erase_ms = str(int(settings.erase_within_hours * 3600 * 1000))
    keys = {
        "cleanup.policy": "compact",
        "max.compaction.lag.ms": erase_ms,  # rolls the segment and cleans it by then
        "min.cleanable.dirty.ratio": "0.01",
        # Tombstones stay: each tells a reader that the key it waits for is erased.
        "delete.retention.ms": str(KEEP_TOMBSTONES_MS),
    }
    return [
        TopicSpec(topics.requests, settings.topic_partitions, bounded),
        TopicSpec(topics.events, settings.topic_partitions, KEEP_FOREVER),
        TopicSpec(topics.keys, settings.topic_partitions, keys),
        TopicSpec(topics.replies, settings.topic_partitions, KEEP_A_DAY),
        TopicSpec(topics.dead_letter, 1, bounded),
        TopicSpec(topics.snapshots, settings.topic_partitions, COMPACTED),
    ]


def replication_for(brokers: int) -> tuple[int, int]:
    """Replication and ``min.insync.replicas`` for a cluster of ``brokers``: 3 and 2 from three
    on (a broker may be down, and every acknowledged write is still on two), else as many as
    there are and 1. Kafka's own topics (offsets, transaction state) are set the same way
    (``infra.kafka_broker``)."""
    return (3, 2) if brokers >= 3 else (brokers, 1)


BROKERS_WAIT = 30.0
"""Seconds ``ensure_topics`` waits for the brokers it was given to be in the cluster."""


async def _cluster_brokers(admin: AIOKafkaAdminClient, named: int) -> int:
    """The brokers in the cluster, once as many as were named (a cluster just started may
    not have them all registered yet) or after ``BROKERS_WAIT``."""
    deadline = asyncio.get_running_loop().time() + BROKERS_WAIT
    while True:
        found = len((await admin.describe_cluster())["brokers"])
        if found >= named or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.5)


async def ensure_topics(settings: KafkaSettings) -> None:
    """Create the chat topics that do not exist yet, and bring the settings of those that do
    (retention above all: the requests' must shrink when ``requests_retention_hours`` does)
    to what ``chat_topics`` declares. Partition counts and replicas of existing topics are
    left alone; new ones get the cluster's replication (``replication_for``)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        named = len(settings.bootstrap_servers.split(","))
        if settings.topic_replication is not None:
            replication = settings.topic_replication
            min_insync = 2 if replication >= 3 else 1
        else:
            replication, min_insync = replication_for(await _cluster_brokers(admin, named))
        specs = chat_topics(settings)
        if min_insync > 1:
            extra = {"min.insync.replicas": str(min_insync)}
            specs = [TopicSpec(s.name, s.partitions, {**s.config, **extra}) for s in specs]
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:  # (one made a moment ago may be missing from the list: it already exists)
            new = [
                NewTopic(spec.name, spec.partitions, replication, topic_configs=spec.config)
                for spec in missing
            ]
            response = await admin.create_topics(new)
            for name, code, *_ in response.topic_errors:
                if code == TopicAlreadyExistsError.errno:
                    existing.add(name)
                elif code != 0:
                    raise RuntimeError(f"could not create Kafka topic {name!r}: error code {code}")
            log.info("ensured topics %s", [s.name for s in missing if s.name not in existing])
        await _align_configs(admin, [spec for spec in specs if spec.name in existing])
    finally:
        await admin.close()


DYNAMIC_TOPIC_CONFIG = 1
"""DescribeConfigs' source of a value set on the topic itself (an override)."""


async def topic_configs(
    admin: AIOKafkaAdminClient,
    names: list[str],
    *,
    overrides_only: bool = False,
    within: float = 15.0,
) -> dict[str, dict[str, str]]:
    """Each topic's current settings (every key the broker reports), or only those set on
    the topic itself. A topic created a moment ago (here or by another service) is not
    described by every broker at once: one the broker does not know yet is waited for, up to
    ``within`` seconds; any other error is raised at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    found: dict[str, dict[str, str]] = {}
    pending = list(names)
    while pending:
        unknown: list[str] = []
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in pending]
        for response in await admin.describe_configs(resources):
            for code, message, _, name, entries in response.resources:
                if code == UnknownTopicOrPartitionError.errno and loop.time() < deadline:
                    unknown.append(name)
                elif code != 0:
                    raise RuntimeError(f"could not read the settings of {name!r}: {message}")
                else:
                    found[name] = {
                        entry[0]: entry[1]
                        for entry in entries
                        if not overrides_only or entry[3] == DYNAMIC_TOPIC_CONFIG
                    }
        pending = unknown
        if pending:
            await asyncio.sleep(0.2)
    return found


async def _align_configs(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> None:
    names = [spec.name for spec in specs if spec.config]
    current = await topic_configs(admin, names)
    stale = [
        spec
        for spec in specs
        if any(current.get(spec.name, {}).get(k) != v for k, v in spec.config.items())
    ]
    if not stale:
        return
    # AlterConfigs sets a topic's overrides as a whole (aiokafka has no incremental form):
    # each gets the overrides it has, an operator's among them, with the declared ones over.
    overrides = await topic_configs(admin, [s.name for s in stale], overrides_only=True)
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, s.name, {**overrides.get(s.name, {}), **s.config})
        for s in stale
    ]
    for response in await admin.alter_configs(resources):
        for code, message, _, name in response.resources:
            if code != 0:
                raise RuntimeError(f"could not change the settings of {name!r}: {message}")
    log.info("brought the settings of %s to %s", [s.name for s in stale], [s.config for s in stale])


async def partitions_of(settings: KafkaSettings, topic: str, within: float = 15.0) -> list[int]:
    """The partition numbers of an existing topic, from the cluster's own description; a topic
    created a moment ago is waited for until the cluster describes it (up to ``within``)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            for description in await admin.describe_topics([topic]):
                if description["topic"] == topic and description["error_code"] == 0:
                    if description["partitions"]:
                        return sorted(p["partition"] for p in description["partitions"])
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    raise RuntimeError(f"Kafka topic {topic} was not found")
