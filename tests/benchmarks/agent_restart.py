"""How long an agent worker takes from its process start to its first decided request, with a
long event log to fold: once with no snapshot (the whole log folded), once restarted after a
SIGKILL (the snapshots the first run saved, plus the log's tail).

    .venv/bin/python -m tests.benchmarks.agent_restart --messages 1000000

Uses the servers named by ``KAFKA_URL`` and ``MONGODB_URI`` (e.g. a running ``./dev up``), or
starts Kafka and FerretDB as processes on free ports. Seeds the log of a fresh topic prefix
with ``--groups`` groups and ``--messages`` saved messages spread over them (straight onto the
events topic, as the decider would have written them), starts a worker, sends one message
request to each partition and prints when the first and the last were decided, measured from
the worker's process start, and the fold rate the worker logged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from agents.settings import Settings
from infra.services import agents_worker
from infra.stack import InfraPorts, start_infra
from records.base import message_id, utcnow
from records.facts import GroupCreated, MessageSaved, read_fact
from records.kafka import ensure_topics
from records.requests import RequestAnswered, SendMessage


async def seed(settings: Settings, groups: list[str], messages: int) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    now = utcnow()
    try:
        for group in groups:
            created = GroupCreated(
                group_id=group, name=group, private=False, owner_id="ann", owner="Ann", version=1
            )
            await producer.send(settings.topics.events, created.to_bytes(), key=group.encode())
        seqs = dict.fromkeys(groups, 0)
        body = "x" * 120
        started = time.monotonic()
        for n in range(messages):
            group = groups[n % len(groups)]
            seqs[group] += 1
            saved = MessageSaved(
                message_id=message_id(group, seqs[group]), group_id=group, seq=seqs[group],
                sender_id="ann", sender="Ann", client_msg_id=f"c{n}", body=body, saved_at=now,
            )  # fmt: skip
            await producer.send(settings.topics.events, saved.to_bytes(), key=group.encode())
            if n and n % 100_000 == 0:
                print(f"  seeded {n:,} messages ({n / (time.monotonic() - started):,.0f}/s)")
        await producer.flush()
    finally:
        await producer.stop()


async def first_decisions(settings: Settings, groups: list[str], started: float) -> list[float]:
    """Send one message to every group; seconds after ``started`` at which each was decided:
    its ``MessageSaved`` committed to the event log (a saved message has no answer of its
    own, the gateway acknowledged the send when Kafka had it). A probe refused on the
    replies topic fails the run instead of leaving it waiting."""
    probe = f"probe-{uuid.uuid4().hex}"
    origin = uuid.uuid4().hex
    log = AIOKafkaConsumer(
        settings.topics.events,
        settings.topics.replies,
        bootstrap_servers=settings.bootstrap_servers,
        isolation_level="read_committed",
    )
    await log.start()
    await log.seek_to_end()  # before the probes go out: every answer to them comes after
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        for group in groups:
            request = SendMessage(
                group_id=group, actor_id="ann", actor="Ann", client_msg_id=probe,
                body="probe", origin=origin,
            )  # fmt: skip
            await producer.send_and_wait(
                settings.topics.requests, request.to_bytes(), key=group.encode()
            )
        decided: dict[str, float] = {}
        async for record in log:
            if record.topic == settings.topics.replies:
                answer = RequestAnswered.model_validate_json(record.value or b"")
                if answer.origin == origin and not answer.ok:
                    raise RuntimeError(f"probe refused in {answer.group_id}: {answer.message}")
                continue
            fact = read_fact(record.value or b"")
            if isinstance(fact, MessageSaved) and fact.client_msg_id == probe:
                decided.setdefault(fact.group_id, time.monotonic() - started)
                if len(decided) == len(groups):
                    return sorted(decided.values())
    finally:
        await producer.stop()
        await log.stop()
    return []


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=10)
    args = parser.parse_args()
    environ = dict(os.environ)
    work = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    infra = None
    if "KAFKA_URL" not in environ or "MONGODB_URI" not in environ:
        infra = start_infra(work / "data", work / "logs", InfraPorts.free(), environ)
        environ.update(infra.env)
    run = uuid.uuid4().hex[:8]
    environ |= {
        "TOPIC_PREFIX": f"bench-{run}.",
        "AGENTS_APP_ID": f"bench-{run}",
        "MONGODB_DATABASE": f"bench_{run}",
    }
    settings = Settings(  # type: ignore[call-arg]
        kafka_url=environ["KAFKA_URL"],
        mongodb_uri=environ["MONGODB_URI"],
        topic_prefix=environ["TOPIC_PREFIX"],
        app_id=environ["AGENTS_APP_ID"],
    )
    worker = None
    try:
        await ensure_topics(settings)
        groups = [f"g{n}-{run}" for n in range(args.groups)]
        print(f"seeding {args.messages:,} messages in {args.groups} groups")
        await seed(settings, groups, args.messages)
        for run_name in ("first start, no snapshot", "restart after SIGKILL"):
            log_path = work / f"agents-{len(run_name)}.log"
            started = time.monotonic()
            worker = agents_worker(
                log_path, env={**environ, "AGENTS_INSTANCE_ID": "bench-1"}, ready_timeout=300
            ).start()
            decided = await first_decisions(settings, groups, started)
            print(f"{run_name}:")
            print(f"  first request decided {decided[0]:.1f} s after the process started")
            print(f"  last of {len(groups)} groups decided at {decided[-1]:.1f} s")
            for line in log_path.read_text().splitlines():
                if match := re.search(r"partition \d+ ready in .*", line):
                    print("    " + match.group(0))
            assert worker.pid is not None
            os.killpg(worker.pid, signal.SIGKILL)
            worker.stop()
            worker = None
    finally:
        if worker is not None:
            worker.stop()
        if infra is not None:
            infra.stop()


if __name__ == "__main__":
    asyncio.run(main())
