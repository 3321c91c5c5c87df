"""How long a page of history takes with a million messages stored.

    .venv/bin/python -m tests.benchmarks.history --messages 1000000 --in-group 100000

Uses the MongoDB-protocol server ``MONGODB_URI`` names, or starts FerretDB as a process.
Seeds the views in a fresh database the way the projector lays them out (``records.views``:
pages of 50 on shelves of a thousand messages), ``--in-group`` messages in the group read and
the rest spread over other groups, then reads pages of 50 through the gateway's own
``ReadModel.history``: the newest page, and one 50,000 messages back. Prints p50, p99, max.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from gateway.readmodel import ReadModel
from infra.stack import InfraPorts, start_infra
from records.base import message_id, utcnow
from records.facts import MessageSaved
from records.views import (
    PAGE_SIZE,
    group_shelf,
    message_slot,
    page_of,
    page_shelf,
    slot_of,
    slot_value,
)


async def seed_group(database: Any, group: str, count: int) -> None:
    now = utcnow()
    shelves: dict[str, dict[int, dict[str, Any]]] = {}
    for seq in range(1, count + 1):
        saved = MessageSaved(
            message_id=message_id(group, seq), group_id=group, seq=seq, sender_id="ann",
            sender="Ann", client_msg_id=f"c{seq}", body="x" * 120, saved_at=now,
        )  # fmt: skip
        page = page_of(seq)
        doc = shelves.setdefault(page_shelf(group, page), {}).setdefault(page, {"_id": page})
        doc.setdefault("m", {})[slot_of(seq)] = slot_value(message_slot(saved))
    for shelf, pages in shelves.items():
        await database[shelf].insert_many(list(pages.values()))
    await database[group_shelf(group)].insert_one(
        {"_id": group, "name": group, "private": False, "owner_id": "ann", "last_seq": count,
         "last_change": 0, "version": 1, "members": {"ann": {"username": "Ann", "role": "owner"}},
         "invited": {}}
    )  # fmt: skip


async def timed_pages(reads: ReadModel, group: str, before: int | None, times: int) -> list[float]:
    found = await reads.group(group)
    assert found is not None
    took = []
    for _ in range(times):
        started = time.perf_counter()
        messages, _ = await reads.history(found, before, 50)
        took.append(time.perf_counter() - started)
        assert len(messages) == 50
    return sorted(took)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--in-group", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=100)
    args = parser.parse_args()
    infra = None
    uri = os.environ.get("MONGODB_URI")
    if uri is None:
        work = Path(tempfile.mkdtemp(prefix="chat-history-"))
        environ = {k: v for k, v in os.environ.items() if k not in ("KAFKA_URL", "REDIS_URL")}
        environ |= {"KAFKA_URL": "unused:9092", "REDIS_URL": "redis://unused"}
        infra = start_infra(work / "data", work / "logs", InfraPorts.free(), environ)
        uri = infra.env["MONGODB_URI"]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    name = f"history_{uuid.uuid4().hex[:8]}"
    database = client[name]
    try:
        started = time.monotonic()
        others = max(0, args.messages - args.in_group)
        other_groups = max(1, others // args.in_group) if others else 0
        for n in range(other_groups):
            await seed_group(database, f"other{n}", others // other_groups)
            print(f"  seeded {(n + 1) * (others // other_groups):,} messages of other groups")
        await seed_group(database, "read", args.in_group)
        print(f"seeded {args.messages:,} messages ({PAGE_SIZE} a page) in "
              f"{time.monotonic() - started:.0f} s")  # fmt: skip
        reads = ReadModel(database)
        for label, before in (
            ("newest page", None),
            ("a page 50,000 back", max(51, args.in_group - 50_000)),
        ):
            took = await timed_pages(reads, "read", before, args.reads)
            print(
                f"{label:>20}: p50 {took[len(took) // 2] * 1000:.1f} ms, "
                f"p99 {took[int(len(took) * 0.99)] * 1000:.1f} ms, max {took[-1] * 1000:.1f} ms"
            )
    finally:
        await client.drop_database(name)
        await client.close()
        if infra is not None:
            infra.stop()


if __name__ == "__main__":
    asyncio.run(main())
