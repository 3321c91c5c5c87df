"""Agent workers and a gateway node are SIGKILLed under steady load, and the chat still
keeps its promises: nothing acknowledged is lost or stored twice, each group's seqs run 1..N
without a gap, and every member's live view (catch-up after a rejoin included) equals the
history, in order, each seq once. The load runs in groups and in direct conversations, with
reactions among the messages: each acknowledged reaction is on its message once, and every
member's live counts end where the history's do.

Judged through the client protocol only, as a user would see it. ``CHAT_FAULTS=off`` runs the
same load without the faults: that run must pass on any working build, which is how the
harness itself is checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from infra.checks import until_in_sync
from records.settings import KafkaSettings
from tests.integration.faults.audit import (
    Audit,
    audit_group,
    audit_markers,
    newest_seq,
    read_history,
)
from tests.integration.faults.clients import Member
from tests.integration.faults.conftest import Cluster

pytestmark = pytest.mark.integration

GROUPS = 10
MEMBERS = 3
DIRECT_PAIRS = 3
"""Direct conversations under the same load: each pair's two people on different nodes."""
REACT_EVERY = 4
"""A member reacts to a message it was sent about once every this many sends."""
EMOJI = ("👍", "❤️", "🎉", "👍🏽", "👨‍👩‍👧")
RATE = 25.0
"""Messages per second sent in total, spread over every member."""
LOAD_SECONDS = 75.0
AFTER_LAST_FAULT = 10.0
"""The load goes on at least this long after the last fault has recovered."""
INJECT_FAULTS = os.environ.get("CHAT_FAULTS", "on") != "off"

Fault = tuple[str, int, float]

FAULTS: list[Fault] = [
    ("worker", 0, 2.0),
    ("worker", 1, 2.0),
    ("worker", 0, 2.0),
    ("worker", 1, 2.0),
    ("gateway", 1, 0.0),
]
"""What is SIGKILLed, in order: ``(kind, index, seconds before the restart)``. Each kill lands
somewhere random in a worker's cycle of read, store, publish, commit; one kill often lands
where no harm is possible, so the workers are killed four times."""
SERVER_FAULTS: list[Fault] = [
    ("kafka", 0, 3.0),
    ("ferretdb", 0, 3.0),
    ("redis", 0, 3.0),
    ("worker", 0, 2.0),
]
"""The servers SIGKILLed and restarted on their data, one after the other, then a worker."""
FIRST_FAULT_AT = 10.0
BETWEEN_FAULTS = 10.0
"""Seconds between one fault's recovery and the next kill."""

Groups = dict[str, list[Member]]


class Clock:
    """Prints what happens, with the time since the load began, so ``-s`` tells the story."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def say(self, what: str) -> None:
        print(f"[faults +{self.elapsed():5.1f}s] {what}", flush=True)


async def set_up_groups(cluster: Cluster) -> Groups:
    """GROUPS groups of MEMBERS, each member on its own socket; a group's members are spread
    over both gateway nodes, so delivery always crosses nodes through Redis. And
    DIRECT_PAIRS direct conversations, the same way: one person opens it, the other joins
    it (as a client does on ``direct_opened``)."""

    async def one_group(g: int) -> tuple[str, list[Member]]:
        names = [f"g{g}m{i}" for i in range(MEMBERS)]
        nodes = [cluster.urls[(g * MEMBERS + i) % len(cluster.urls)] for i in range(MEMBERS)]
        members = [
            Member(n, url, cluster.token(n), cluster.urls)
            for n, url in zip(names, nodes, strict=True)
        ]
        for member in members:
            member.user_id = cluster.user_id(member.name)
        await asyncio.gather(*(member.connect() for member in members))
        group_id = await members[0].create_group(f"faults {g}")
        await asyncio.gather(*(member.join(group_id) for member in members[1:]))
        for member in members:
            member.stay_connected()
        return group_id, members

    async def one_pair(p: int) -> tuple[str, list[Member]]:
        names = [f"d{p}a", f"d{p}b"]
        ids = [await cluster.register(name) for name in names]
        members = [
            Member(name, cluster.urls[i], cluster.token(name), cluster.urls)
            for i, name in enumerate(names)
        ]
        for member, user_id in zip(members, ids, strict=True):
            member.user_id = user_id
        await asyncio.gather(*(member.connect() for member in members))
        group_id = await members[0].open_direct(ids[1])
        await members[1].join(group_id)
        for member in members:
            member.stay_connected()
        return group_id, members

    groups = await asyncio.gather(*(one_group(g) for g in range(GROUPS)))
    pairs = await asyncio.gather(*(one_pair(p) for p in range(DIRECT_PAIRS)))
    return dict([*groups, *pairs])


async def chatter(member: Member, stop: asyncio.Event, sends: set[asyncio.Task[None]]) -> None:
    """Start a new send every so often until ``stop``; never wait for one to be
    acknowledged, so messages pile up and are resent while the member's node is down."""
    interval = (GROUPS * MEMBERS + DIRECT_PAIRS * 2) / RATE
    while not stop.is_set():
        sends.add(asyncio.create_task(member.send()))
        sends.add(asyncio.create_task(member.mark_read()))
        if random.randrange(REACT_EVERY) == 0:
            sends.add(asyncio.create_task(member.react(random.choice(EMOJI))))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval * random.uniform(0.5, 1.5))


async def inject_faults(
    cluster: Cluster, clock: Clock, burst: Callable[[], None], faults: list[Fault]
) -> None:
    """Kill and restart each service of FAULTS in turn, mid-stream; a restarted service keeps
    its command, environment and port, as a supervisor would restart it.

    A worker is killed a moment after a burst of sends (every member at once), so that it is
    most likely caught between storing, publishing and committing a batch: the kill that
    finds a worker idle tests little."""
    await asyncio.sleep(FIRST_FAULT_AT)
    for n, (kind, index, pause) in enumerate(faults):
        if n:
            await asyncio.sleep(BETWEEN_FAULTS)
        if kind in ("worker", "gateway"):
            process = (cluster.workers if kind == "worker" else cluster.gateways)[index]
        else:
            process = cluster.servers[kind]
        name = f"{kind} {index + 1}"
        if kind == "worker":
            burst()
            await asyncio.sleep(random.uniform(0.05, 0.4))
        clock.say(f"SIGKILL {name} (pid {process.pid})")
        await cluster.kill(process)
        await asyncio.sleep(pause)
        clock.say(f"restarting {name}")
        await cluster.restart(process)
        clock.say(f"{name} is ready again")


async def report_progress(groups: Groups, clock: Clock) -> None:
    """Every 10 s, how the load fares: a stall or a node's clients away shows here."""
    members = [m for ms in groups.values() for m in ms]
    while True:
        await asyncio.sleep(10)
        clock.say(
            f"acknowledged {sum(len(m.acknowledged) for m in members)}, "
            f"waiting {sum(len(m.pending) for m in members)}, "
            f"sockets down {sum(not m.ready.is_set() for m in members)}"
        )


async def drain(groups: Groups, clock: Clock, within: float = 90) -> None:
    """Wait until each group's history covers what was acknowledged and every member has
    been sent up to its newest seq. A lost message never arrives, so stop waiting once
    nothing has moved for a while."""
    deadline = time.monotonic() + within
    last: dict[str, int] = {}
    moved = time.monotonic()
    while True:
        seqs = await asyncio.gather(*(newest_seq(ms[0], g) for g, ms in groups.items()))
        newest = dict(zip(groups, seqs, strict=True))
        if newest != last:
            last, moved = newest, time.monotonic()
        quiet = time.monotonic() - moved
        covered = all(
            newest[g] >= len(set().union(*(m.acknowledged - m.rejected for m in ms)))
            and all(m.last_seq >= newest[g] for m in ms)
            for g, ms in groups.items()
        )
        if (covered and quiet >= 3) or quiet >= 20 or time.monotonic() > deadline:
            clock.say(f"drained: covered={covered}, newest seq unchanged for {quiet:.0f}s")
            return
        await asyncio.sleep(1)


async def settled_history(members: list[Member], group_id: str) -> list[dict[str, Any]]:
    """The group's history once it shows every acknowledged reaction, or as it is after a
    while: the views trail the log by a moment, and a reaction lost never shows."""
    wanted = set().union(*(m.reactions_acked for m in members))
    for _ in range(20):
        history = await read_history(members[0], group_id)
        shown = {
            (str(message["message_id"]), str(reaction["emoji"]))
            for message in history
            for reaction in message.get("reactions") or []
        }
        if wanted <= shown:
            break
        await asyncio.sleep(0.5)
    return history


Inject = Callable[[Clock, Callable[[], None]], Awaitable[None]]
"""What a run does to the services while the load goes on, given the clock and ``burst``
(every member sends at once)."""


def killing(cluster: Cluster, faults: list[Fault]) -> Inject:
    return lambda clock, burst: inject_faults(cluster, clock, burst, faults)


async def run_load(cluster: Cluster, groups: Groups, clock: Clock, inject: Inject) -> None:
    """RATE messages a second for LOAD_SECONDS, faults injected meanwhile; returns once
    every send has been acknowledged (or given up on after 90 s)."""
    members = [m for ms in groups.values() for m in ms]
    stop = asyncio.Event()
    sends: set[asyncio.Task[None]] = set()
    chatters = [asyncio.create_task(chatter(m, stop, sends)) for m in members]
    progress = asyncio.create_task(report_progress(groups, clock))

    def burst() -> None:
        sends.update(asyncio.create_task(m.send()) for m in members)

    try:
        if INJECT_FAULTS:
            await inject(clock, burst)
        await asyncio.sleep(max(LOAD_SECONDS - clock.elapsed(), AFTER_LAST_FAULT))
        stop.set()
        await asyncio.gather(*chatters)
        clock.say(f"load stopped after {len(sends)} sends; waiting for their acknowledgements")
        _, unfinished = await asyncio.wait(sends, timeout=90)
        for task in unfinished:
            task.cancel()
    finally:
        stop.set()
        progress.cancel()


async def test_killed_workers_and_gateway_lose_and_double_nothing(cluster: Cluster) -> None:
    await load_faults_and_audit(cluster, killing(cluster, FAULTS), gateway_killed=True)


async def test_restarted_servers_lose_and_double_nothing(cluster_on_own_servers: Cluster) -> None:
    """Kafka, FerretDB and Redis each SIGKILLed and restarted on their data mid-stream."""
    cluster = cluster_on_own_servers
    await load_faults_and_audit(cluster, killing(cluster, SERVER_FAULTS))


async def test_a_cluster_through_broker_kills_and_a_rolling_restart_loses_nothing(
    cluster_on_three_brokers: Cluster,
) -> None:
    """A Kafka cluster of three: the broker that leads the busiest requests partition is
    SIGKILLed, then (once it is back) the transaction coordinator of a worker's producer,
    then the leader of the busiest event-log partition. Then every service is restarted one
    at a time, as an upgrade would: each gateway node, each worker, each broker, SIGTERM and
    started again, the next once it is ready (a broker: once every partition is in sync).
    Prints, per failover, how long sends waited and how long until each group was delivered
    again; per restart, how long its sockets took to be served elsewhere, and the longest
    wait for an acknowledgement."""
    cluster = cluster_on_three_brokers
    failovers: list[Failover] = []
    restarts: list[Restart] = []

    async def inject(clock: Clock, burst: Callable[[], None]) -> None:
        await kill_brokers(cluster, clock, burst, failovers)
        await rolling_restart(cluster, clock, restarts)

    groups, _ = await load_faults_and_audit(cluster, inject, gateway_killed=True)
    if INJECT_FAULTS:
        assert [f.role for f in failovers] == list(BROKER_ROLES)
        for failover in failovers:
            print(f"[faults] {failover.report(groups)}", flush=True)
        for restart in restarts:
            print(f"[faults] {restart.report(groups)}", flush=True)
        print(f"[faults] {rolling_report(restarts, groups)}", flush=True)


async def load_faults_and_audit(
    cluster: Cluster, inject: Inject, *, gateway_killed: bool = False
) -> tuple[Groups, Audit]:
    """Set up the groups, run the load with the faults, let it drain, then audit."""
    async with asyncio.timeout(540):  # far below the 10 minutes a test may take
        groups = await set_up_groups(cluster)
        clock = Clock()
        try:
            clock.say(
                f"{GROUPS} groups of {MEMBERS} and {DIRECT_PAIRS} direct conversations ready; "
                f"load {RATE}/s, faults {INJECT_FAULTS}"
            )
            await run_load(cluster, groups, clock, inject)
            await drain(groups, clock)
            audit = Audit()
            for group_id, members in groups.items():
                history = await settled_history(members, group_id)
                audit_group(audit, group_id, members, history)
                await audit_markers(audit, group_id, members)
        finally:
            await asyncio.gather(*(m.close() for ms in groups.values() for m in ms))
    clock.say(f"audit: {audit.report()}")
    processes = [*cluster.workers, *cluster.gateways, *cluster.servers.values()]
    dead = [p for p in processes if not p.is_running()]
    assert not dead, f"services died during the test: {dead}"
    assert audit.acknowledged > 0.5 * RATE * LOAD_SECONDS, "the load did not get through"
    assert audit.reactions > 0.05 * RATE * LOAD_SECONDS, "the reactions did not get through"
    if INJECT_FAULTS and gateway_killed:
        assert audit.reconnects > 0, "the gateway's kill reached no client"
    assert all(n == 0 for n in audit.failures().values()), audit.report()
    return groups, audit


# --- a Kafka cluster's brokers ----------------------------------------------------------------

BROKER_ROLES = ("requests leader", "transaction coordinator", "event-log leader")
BROKER_DOWN = 3.0
"""Seconds a killed broker stays down before it is started again on its data."""
FAILOVER_WINDOW = 15.0
"""Sends begun within this many seconds of a kill count as waiting through its failover."""


@dataclass
class Failover:
    role: str
    node: int
    killed_at: float
    back_at: float

    def report(self, groups: Groups) -> str:
        """How long the sends begun during the failover waited for their acknowledgement,
        and how long after the kill each group was delivered a message sent since."""
        members = [m for ms in groups.values() for m in ms]
        waits = sorted(
            m.acked_at[cid] - sent
            for m in members
            for cid, sent in m.sent_at.items()
            if cid in m.acked_at and self.killed_at <= sent <= self.killed_at + FAILOVER_WINDOW
        )
        resumed = []
        for ms in groups.values():
            sent_since = {cid for m in ms for cid, at in m.sent_at.items() if at >= self.killed_at}
            arrivals = [m.arrived_at[c] for m in ms for c in sent_since if c in m.arrived_at]
            if arrivals:
                resumed.append(min(arrivals) - self.killed_at)
        resumed.sort()

        def millis(values: list[float], q: float) -> str:
            return f"{values[min(len(values) - 1, int(q * len(values)))] * 1000:.0f}"

        return (
            f"kafka-{self.node} ({self.role}) down {self.back_at - self.killed_at:.1f} s: "
            f"{len(waits)} sends waited p50 {millis(waits, 0.5)} ms, p99 {millis(waits, 0.99)} ms, "
            f"max {millis(waits, 1.0)} ms; delivery resumed in every group within "
            f"{millis(resumed, 1.0)} ms of the kill (p50 {millis(resumed, 0.5)} ms)"
        )


async def broker_playing(cluster: Cluster, role: str) -> int:
    """The node id of the broker that plays ``role`` now."""
    settings = KafkaSettings(
        kafka_url=cluster.env["KAFKA_URL"], topic_prefix=cluster.env["TOPIC_PREFIX"]
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        if role == "transaction coordinator":
            transactional_id = f"{cluster.env['AGENTS_APP_ID']}-decider-0"
            return int(await admin.find_coordinator(transactional_id, 1))
        topic = settings.topics.requests if role == "requests leader" else settings.topics.events
        (described,) = await admin.describe_topics([topic])
        leaders = {
            int(p.get("partition_index", p.get("partition"))): int(
                p.get("leader_id", p.get("leader"))
            )
            for p in described["partitions"]
        }
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in leaders])
    finally:
        await consumer.stop()
    busiest = max(ends, key=lambda tp: ends[tp]).partition
    return leaders[busiest]


async def kill_brokers(
    cluster: Cluster, clock: Clock, burst: Callable[[], None], failovers: list[Failover]
) -> None:
    """SIGKILL the broker of each of BROKER_ROLES in turn (found when its turn comes), a
    moment after a burst of sends; restart it on its data after BROKER_DOWN."""
    await asyncio.sleep(FIRST_FAULT_AT)
    for n, role in enumerate(BROKER_ROLES):
        if n:
            await asyncio.sleep(BETWEEN_FAULTS)
        node = await broker_playing(cluster, role)
        process = cluster.servers[f"kafka-{node}"]
        burst()
        await asyncio.sleep(random.uniform(0.05, 0.4))
        clock.say(f"SIGKILL kafka-{node}, the {role} (pid {process.pid})")
        killed_at = time.monotonic()
        await cluster.kill(process)
        await asyncio.sleep(BROKER_DOWN)
        clock.say(f"restarting kafka-{node}")
        await cluster.restart(process)
        clock.say(f"kafka-{node} is ready again")
        failovers.append(Failover(role, node, killed_at, time.monotonic()))


# --- a rolling restart -----------------------------------------------------------------------

BETWEEN_RESTARTS = 3.0
"""Seconds between one service being ready again and the next one's SIGTERM."""


@dataclass
class Restart:
    kind: str
    name: str
    began: float
    """The SIGTERM."""
    exited: float
    ready: float

    def report(self, groups: Groups) -> str:
        """How long the stop and the start took; for a gateway node, how long its sockets
        took to be served by the other one (SIGTERM to joined again)."""
        line = (
            f"{self.name} ({self.kind}) SIGTERM: exited in {self.exited - self.began:.1f} s, "
            f"ready again {self.ready - self.began:.1f} s after"
        )
        if self.kind != "gateway":
            return line
        members = [m for ms in groups.values() for m in ms]
        moved: list[tuple[float, Member, float]] = []
        for member in members:
            drop = next((d for d in member.drops if self.began <= d <= self.exited + 1), None)
            if drop is not None:
                back = next((r for r in member.readies if r >= drop), None)
                if back is not None:
                    moved.append((back - self.began, member, drop))
        moved.sort(key=lambda item: item[0])
        if not moved:
            return f"{line}; no socket was on it"
        slowest, member, drop = moved[-1]
        tries = ", ".join(
            f"+{(at - self.began) * 1000:.0f} ms {url.rsplit(':', 1)[-1]} {how}"
            for at, url, how in member.attempts
            if drop <= at <= drop + slowest + 1
        )
        return (
            f"{line}; its {len(moved)} sockets served by the other node within "
            f"{slowest * 1000:.0f} ms of the SIGTERM (p50 {moved[len(moved) // 2][0] * 1000:.0f} "
            f"ms; the slowest dropped at +{(drop - self.began) * 1000:.0f} ms, tried {tries})"
        )


def rolling_report(restarts: list[Restart], groups: Groups) -> str:
    """The longest any person waited for an acknowledgement while the services restarted."""
    if not restarts:
        return "no restart"
    began, ended = restarts[0].began, restarts[-1].ready
    waits = sorted(
        m.acked_at[cid] - sent
        for ms in groups.values()
        for m in ms
        for cid, sent in m.sent_at.items()
        if cid in m.acked_at and began <= sent <= ended
    )
    p99 = waits[min(len(waits) - 1, int(0.99 * len(waits)))]
    return (
        f"rolling restart of {len(restarts)} services in {ended - began:.0f} s: {len(waits)} "
        f"sends, acknowledged p50 {waits[len(waits) // 2] * 1000:.0f} ms, p99 "
        f"{p99 * 1000:.0f} ms, the longest wait {waits[-1] * 1000:.0f} ms"
    )


async def rolling_restart(cluster: Cluster, clock: Clock, restarts: list[Restart]) -> None:
    """Every gateway node, then every worker, then every broker: SIGTERM, wait for it to
    exit, start it again, wait until it is ready (a broker: and every partition in sync),
    then the next."""
    brokers = [
        cluster.servers[name] for name in sorted(cluster.servers) if name.startswith("kafka")
    ]
    for kind, processes in (
        ("gateway", cluster.gateways),
        ("worker", cluster.workers),
        ("broker", brokers),
    ):
        for process in processes:
            await asyncio.sleep(BETWEEN_RESTARTS)
            clock.say(f"SIGTERM {process.name} ({kind}, pid {process.pid})")
            began = time.monotonic()
            await process.astop()
            exited = time.monotonic()
            await process.astart()
            if kind == "broker":
                await until_in_sync(cluster.env["KAFKA_URL"], within=60)
            restarts.append(Restart(kind, process.name, began, exited, time.monotonic()))
            clock.say(f"{process.name} is ready again")
