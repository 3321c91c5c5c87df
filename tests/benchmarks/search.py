"""The search benchmark: ``./dev bench --search`` (``python -m tests.benchmarks.search``).

    .venv/bin/python -m tests.benchmarks.search             # 1M messages, a 20 s live run
    .venv/bin/python -m tests.benchmarks.search --quick     # 100k messages, 10 s live

On a fresh index of synthetic messages (``tests.benchmarks.corpus``: a Zipf vocabulary,
1,000 groups, the caller a member of 100 of them, which hold a tenth of the messages):

1. **Index.** ``--messages`` saved messages, their bodies open as the follower reads them,
   applied through ``MessageIndex.apply`` in rounds of ``--round``: messages a second (the
   apply alone), the index's files on disk, this process's resident memory before and after.
2. **Queries.** Each kind (words rare to common, two words, a phrase, prefixes, ``from:``,
   a month, a word only other groups use), newest first and by relevance, ``--reps`` times
   through ``POST /search`` of ``python -m search`` serving that index, asked as the gateway
   asks (JSON both ways). Beside it, the baselines: the same searches in the index in this
   process (the engine's part), and a request naming no group (the HTTP path alone). p50,
   p99 and max against the targets: p50 ≤ 20 ms, p99 ≤ 100 ms.
3. **Live.** On Kafka (``KAFKA_URL``, or a broker started as a process), the service's
   follower reading a fresh log into that index: messages committed at ``--rate`` for
   ``--live-seconds`` as the agents commit them (``tests.benchmarks.search_live``); commit →
   found by ``POST /search`` for marker messages, against commit → read by a bare consumer;
   the follower's backlog when the writing stopped; the service's CPU and memory.

Prints a table as it goes and writes ``.data/bench/search.json`` (and ``.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from infra.paths import REPO_ROOT, free_port
from infra.services import search_service
from infra.stack import Infra, InfraPorts, start_infra
from records.kafka import ensure_topics
from records.search import (
    DEFAULT_RESULTS,
    Order,
    SearchAnswer,
    SearchQuery,
    SearchRequest,
    parse_query,
)
from records.settings import KafkaSettings
from search.index import MessageIndex
from search.settings import INDEX_FILE
from tests.benchmarks.corpus import Corpus
from tests.benchmarks.search_live import ask, live_run
from tests.benchmarks.search_report import markdown, print_index, print_live, print_row

RESULTS = REPO_ROOT / ".data" / "bench" / "search.json"
P50_MS, P99_MS = 20.0, 100.0
FINDABLE_MS = 1000.0
ORDERS: tuple[Order, ...] = ("newest", "relevance")
Timings = tuple[list[float], int]
"""Each search's seconds, and the results they returned in all."""
Engine = dict[tuple[str, Order], Timings]
"""Each kind of query and order, timed in the index itself."""


def say(message: str) -> None:
    print(f"[search-bench] {message}", file=sys.stderr, flush=True)


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max, in milliseconds (nothing if there is nothing)."""
    ordered = sorted(seconds)
    if not ordered:
        return {}
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50": ordered[len(ordered) // 2] * 1000, "p99": p99 * 1000, "max": ordered[-1] * 1000}


def memory_mib(pid: int | str = "self") -> dict[str, float]:
    """A process's resident memory (/proc): all of it; its anonymous part (heaps, SQLite's
    caches); its file-backed part (the index's pages it maps, which the kernel can take
    back); the most it ever held."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value
    named = {"rss": "VmRSS", "anon": "RssAnon", "file": "RssFile", "peak": "VmHWM"}
    return {name: int(fields[field].split()[0]) / 1024 for name, field in named.items()}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def index_files(path: Path) -> dict[str, int]:
    """Bytes of the index's database, its write-ahead log and the log's shared memory."""
    files = {
        "db": path,
        "wal": path.with_name(f"{path.name}-wal"),
        "shm": path.with_name(f"{path.name}-shm"),
    }
    return {name: file.stat().st_size for name, file in files.items() if file.exists()}


# --- 1. the index ---------------------------------------------------------------------------


def seed(index: MessageIndex, corpus: Corpus, count: int, round_size: int) -> dict[str, Any]:
    """Apply ``count`` messages in rounds, as the follower does, with no log position (the
    service's follower reads a fresh log of its own from the start). Messages a second are
    the apply's alone, over the whole and by tenths: does it slow as the index grows?"""
    applying, tenth_began, tenth_first, by_tenth, callers = 0.0, 0.0, 0, [], 0
    wanted = set(corpus.caller_groups)
    started = time.monotonic()
    for first in range(0, count, round_size):
        facts = [corpus.message(n) for n in range(first, min(count, first + round_size))]
        callers += sum(fact.group_id in wanted for fact in facts)
        began = time.perf_counter()
        applied = index.apply(facts, {})
        applying += time.perf_counter() - began
        assert applied.indexed == len(facts), applied
        done = first + len(facts)
        if done - tenth_first >= count // 10 or done == count:
            by_tenth.append((done - tenth_first) / (applying - tenth_began))
            disk = sum(index_files(index.path).values()) / 1e6
            print(
                f"  {done:>9,} indexed: {by_tenth[-1]:>7,.0f} messages/s over the last "
                f"{done - tenth_first:,}; index {disk:,.0f} MB, RSS {memory_mib()['rss']:,.0f} MiB",
                flush=True,
            )
            tenth_began, tenth_first = applying, done
    return {
        "messages": count,
        "groups": len(corpus.groups),
        "caller_groups": len(corpus.caller_groups),
        "caller_messages": callers,
        "round": round_size,
        "apply_seconds": applying,
        "messages_per_second": count / applying,
        "by_tenth": by_tenth,
        "wall_seconds": time.monotonic() - started,
    }


def index_part(
    args: argparse.Namespace, corpus: Corpus, path: Path
) -> tuple[dict[str, Any], Engine]:
    """Seed the index, then time every query kind in it in this process (the baseline)."""
    index = MessageIndex(path)
    before = memory_mib()
    index.open(empty=True)
    print(
        f"index: {args.messages:,} messages in {len(corpus.groups):,} groups, rounds of "
        f"{args.round:,}, through MessageIndex.apply",
        flush=True,
    )
    try:
        result = seed(index, corpus, args.messages, args.round)
        files = index_files(path)
        result["disk_bytes"] = files
        # Bytes a message are megabytes a million; the database's alone (the write-ahead
        # log is emptied into it at each checkpoint: a few megabytes, whatever the size).
        result["disk_mb_per_million"] = files["db"] / args.messages
        result["memory_mib"] = {"before": before, "after": memory_mib()}
        print_index(result)
        # The seeding leaves hundreds of megabytes of dirty pages, which the kernel writes out
        # over the next minute: searches timed meanwhile wait on that I/O (2-3x slower), as a
        # long-lived index never does. Written out first, so both timings see a settled index.
        index.checkpoint()
        os.sync()
        say(f"timing {2 * len(corpus.queries())} kinds of query in this process, {args.reps} each")
        engine = {
            (kind, order): in_process(index, requests_of(texts, corpus, order), args.reps)
            for kind, texts in corpus.queries().items()
            for order in ORDERS
        }
    finally:
        index.close()
    return result, engine


# --- 2. the queries -------------------------------------------------------------------------


def requests_of(texts: list[str], corpus: Corpus, order: Order) -> list[SearchRequest]:
    """What the gateway asks for each text: the caller's groups, from:'s users (found in
    auth by the gateway; here a user's id is their username)."""
    queries = [parse_query(text) for text in texts]
    return [
        SearchRequest(
            query=q, group_ids=corpus.caller_groups, sender_ids=list(q.senders), order=order
        )
        for q in queries
    ]


class Searcher(Protocol):
    """An engine searched in the process: the service's index, or another to compare."""

    def search(self, request: SearchRequest) -> SearchAnswer: ...


def in_process(index: Searcher, requests: list[SearchRequest], reps: int) -> Timings:
    """The searches in the engine itself: its part of an answer, no HTTP; warmed on every
    variant, then ``reps``."""
    for request in requests:
        index.search(request)  # (warm)
    took, hits = [], 0
    for n in range(reps):
        began = time.perf_counter()
        answer = index.search(requests[n % len(requests)])
        took.append(time.perf_counter() - began)
        hits += len(answer.results)
    return took, hits


async def over_http(
    session: aiohttp.ClientSession, url: str, requests: list[SearchRequest], reps: int
) -> Timings:
    for request in requests:
        await ask(session, url, request)  # (warm)
    took, hits = [], 0
    for n in range(reps):
        began = time.perf_counter()
        answer = await ask(session, url, requests[n % len(requests)])
        took.append(time.perf_counter() - began)
        hits += len(answer.results)
    return took, hits


def query_row(kind: str, order: Order, http: Timings, engine: Timings) -> dict[str, Any]:
    ms = percentiles(http[0])
    missed = [
        f"{name} > {bound:g} ms"
        for name, bound in (("p50", P50_MS), ("p99", P99_MS))
        if ms[name] > bound
    ]
    return {
        "kind": kind,
        "order": order,
        "reps": len(http[0]),
        "hits": http[1] / len(http[0]),
        "http_ms": ms,
        "engine_ms": percentiles(engine[0]),
        "verdict": "MISSED: " + ", ".join(missed) if missed else "ok",
    }


async def query_part(
    args: argparse.Namespace,
    session: aiohttp.ClientSession,
    url: str,
    corpus: Corpus,
    engine: Engine,
) -> dict[str, Any]:
    nothing = SearchRequest(query=SearchQuery(words=["nothing"]), group_ids=[])
    floor = percentiles((await over_http(session, url, [nothing], args.reps))[0])
    print(
        f"queries: POST /search, {args.reps} of each, the caller in "
        f"{len(corpus.caller_groups)} groups; ms; hits: results a query returned on average "
        f"(at most {DEFAULT_RESULTS}); baselines: the engine alone (this process), and a "
        f"request naming no group (p50 {floor['p50']:.1f}, p99 {floor['p99']:.1f})",
        flush=True,
    )
    print(
        f"  {'query':<20} {'order':<9} {'hits':>5} {'p50':>7} {'p99':>7} {'max':>7}  "
        f"{'engine p50':>10} {'p99':>6}  target",
        flush=True,
    )
    rows = []
    for kind, texts in corpus.queries().items():
        for order in ORDERS:
            http = await over_http(session, url, requests_of(texts, corpus, order), args.reps)
            rows.append(query_row(kind, order, http, engine[kind, order]))
            print_row(rows[-1])
    return {"floor_ms": floor, "queries": rows}


# --- 3. live --------------------------------------------------------------------------------


def live_summary(live: dict[str, Any], rate: float) -> dict[str, Any]:
    findable = percentiles(live["findable"])
    caught = live["caught_up_s"]
    kept_up = caught is not None and caught <= FINDABLE_MS / 1000
    all_found = len(live["findable"]) == live["markers"]
    met = all_found and kept_up and findable.get("p99", FINDABLE_MS + 1) <= FINDABLE_MS
    return {
        "rate": rate,
        "written": live["written"],
        "written_per_second": live["written"] / live["seconds"],
        "transactions": live["transactions"],
        "markers": live["markers"],
        "not_found": live["markers"] - len(live["findable"]),
        "findable_ms": findable,
        "received_ms": percentiles(live["received"]),
        "searches_while_indexing_ms": percentiles(live["searches"]),
        "behind_at_stop": live["behind_at_stop"],
        "caught_up_s": caught,
        "rounds": live["rounds"],
        "round_ms_mean": live["round_seconds"] / max(1, live["rounds"]) * 1000,
        "service_cpu_share": live["service_cpu_seconds"] / live["seconds"],
        "verdict": "ok" if met else "MISSED",
    }


async def service_part(
    args: argparse.Namespace,
    corpus: Corpus,
    settings: KafkaSettings,
    port: int,
    pid: int,
    engine: Engine,
) -> dict[str, Any]:
    """Every query kind through ``POST /search``, then the live run."""
    url = f"http://127.0.0.1:{port}"
    memory = {"ready": memory_mib(pid)}
    async with aiohttp.ClientSession() as session:
        result = await query_part(args, session, url, corpus, engine)
        memory["after_queries"] = memory_mib(pid)
        say(
            f"live: {args.rate:g} messages/s for {args.live_seconds:g} s, after a "
            f"{args.warm_up:g} s warm-up"
        )
        live = await live_run(
            settings,
            session,
            url,
            corpus,
            rate=args.rate,
            seconds=args.live_seconds,
            warm_up=args.warm_up,
            service_cpu=lambda: cpu_seconds(pid),
        )
    memory["after_live"] = memory_mib(pid)
    result["live"] = live_summary(live, args.rate)
    result["service_memory_mib"] = memory
    print_live(result["live"], memory, FINDABLE_MS)
    return result


# --- the run --------------------------------------------------------------------------------


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.search", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="100,000 messages, 100 of each query, 10 s live"
    )
    parser.add_argument("--messages", type=int, help="messages indexed (1,000,000)")
    parser.add_argument("--round", type=int, default=1000, help="messages applied at once")
    parser.add_argument("--reps", type=int, help="searches of each kind (200)")
    parser.add_argument("--rate", type=float, default=1000.0, help="live messages a second")
    parser.add_argument("--live-seconds", type=float, help="the live run (20 s)")
    parser.add_argument("--warm-up", type=float, help="live writing before, not measured (5 s)")
    parser.add_argument("--keep", action="store_true", help="keep the index and the logs")
    args = parser.parse_args(argv)
    quick = args.quick
    args.messages = args.messages or (100_000 if quick else 1_000_000)
    args.reps = args.reps or (100 if quick else 200)
    args.live_seconds = args.live_seconds or (10.0 if quick else 20.0)
    args.warm_up = args.warm_up if args.warm_up is not None else (2.0 if quick else 5.0)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(argv)
    # Kafka's readiness probe connects before the broker listens: refusals expected (as
    # ``infra.runner`` quiets them).
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    work = Path(tempfile.mkdtemp(prefix="chat-search-bench-"))
    infra, service = Infra(), None
    corpus = Corpus(args.messages)
    try:
        environ = dict(os.environ)
        if not environ.get("KAFKA_URL"):
            # Kafka alone: the other servers named (never used), so none is started.
            unused = {"MONGODB_URI": "mongodb://unused", "REDIS_URL": "redis://unused"}
            infra = start_infra(work / "data", work / "logs", InfraPorts.free(), environ | unused)
            environ["KAFKA_URL"] = infra.env["KAFKA_URL"]
        index, engine = index_part(args, corpus, work / "search" / INDEX_FILE)
        settings = KafkaSettings(
            kafka_url=environ["KAFKA_URL"],
            topic_prefix=f"bench-search-{uuid.uuid4().hex[:8]}.",
            topic_partitions=1,
        )
        asyncio.run(ensure_topics(settings))
        port = free_port()
        env = environ | {"TOPIC_PREFIX": settings.topic_prefix, "TOPIC_PARTITIONS": "1"}
        service = search_service(work / "search.log", port=port, data_dir=work / "search", env=env)
        say(f"starting the search service over the index (log {service.log_path})")
        service.start_and_wait()
        assert service.pid is not None
        served = asyncio.run(service_part(args, corpus, settings, port, service.pid, engine))
    finally:
        if service is not None:
            service.stop()
        infra.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results = {
        "index": index,
        **served,
        "targets": {
            "p50_ms": P50_MS,
            "p99_ms": P99_MS,
            "findable_ms": FINDABLE_MS,
            "rate": args.rate,
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    RESULTS.with_suffix(".md").write_text(markdown(results))
    say(f"wrote {RESULTS} (and .md)" + (f"; the index and logs are in {work}" if args.keep else ""))


if __name__ == "__main__":
    main()
