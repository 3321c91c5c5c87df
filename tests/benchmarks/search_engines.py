"""The search engines compared: ``python -m tests.benchmarks.search_engines [--messages N]``.

The service's SQLite FTS5 index (``search.index.MessageIndex``, seeded by
``tests.benchmarks.search.seed`` as the follower writes it) against tantivy (its Python
bindings, ``tests.benchmarks.search_tantivy``), over the same synthetic messages
(``tests.benchmarks.corpus``), in one process and one run, so a machine busy with something
else slows both alike and the ratio holds. It answers what choosing FTS5 (nothing to install)
costs against a dedicated engine: each query kind timed first page, newest first and by
relevance, in each engine in turn; the build rate and the size on disk; and whether the
newest-first pages name the same messages (relevance differs by design: FTS5 ranks the
caller's newest matches window by window, tantivy its BM25 top-k over all of them).

tantivy is not a dependency of the project: when it cannot be imported it is installed into
the running interpreter's environment (``pip install tantivy==0.25.1``), and the run says so.
Prints the tables and writes them to ``.data/bench/search_engines.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.metadata
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from infra.paths import REPO_ROOT
from records.facts import MessageSaved
from records.search import DEFAULT_RESULTS, Order, SearchRequest
from search.index import MessageIndex
from search.settings import INDEX_FILE
from tests.benchmarks.corpus import Corpus
from tests.benchmarks.search import (
    ORDERS,
    Timings,
    in_process,
    index_files,
    percentiles,
    requests_of,
    seed,
)

if TYPE_CHECKING:
    from tests.benchmarks.search_tantivy import TantivyIndex

TANTIVY = "tantivy==0.25.1"
RESULTS = REPO_ROOT / ".data" / "bench" / "search_engines.md"


def say(message: str) -> None:
    print(f"[search-engines] {message}", file=sys.stderr, flush=True)


def ensure_tantivy() -> str:
    """tantivy's version, installed first if it cannot be imported: into this interpreter's
    environment, on purpose never among the project's dependencies (only this compares)."""
    try:
        import tantivy  # noqa: F401
    except ImportError:
        say(f"tantivy cannot be imported: installing it: {sys.executable} -m pip install {TANTIVY}")
        subprocess.run([sys.executable, "-m", "pip", "install", TANTIVY], check=True)
        importlib.invalidate_caches()
        import tantivy  # noqa: F401
    version = importlib.metadata.version("tantivy")
    if version != TANTIVY.split("==")[1]:
        say(f"tantivy {version} is installed, not {TANTIVY}: timing that one")
    return version


class Recorded(Corpus):
    """A corpus that keeps a digest of the messages it gave. Its messages come from one random
    stream, so each engine is given its own corpus, seeded alike (and saved from the same
    day); the digests prove both indexed the same messages."""

    def __init__(self, count: int, start: datetime | None = None) -> None:
        super().__init__(count)
        if start is not None:
            self.start = start
        self.digest = hashlib.blake2b()

    def message(self, n: int) -> MessageSaved:
        fact = super().message(n)
        saved = fact.saved_at.isoformat()
        parts = (fact.message_id, fact.group_id, fact.sender_id, fact.body, saved)
        self.digest.update("\0".join(parts).encode() + b"\1")
        return fact


@dataclass(frozen=True)
class Build:
    """How an engine's index was built: ``seconds`` writing the rounds, ``settle_seconds``
    making it as it stays (FTS5: the WAL checkpointed; tantivy: its merges waited for)."""

    engine: str
    messages: int
    seconds: float
    settle_seconds: float
    disk_bytes: int
    segments: int | None = None
    """tantivy's segments once settled (FTS5's are inside its one file, not counted)."""

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def settled_rate(self) -> float:
        return self.messages / (self.seconds + self.settle_seconds)


@dataclass(frozen=True)
class Row:
    kind: str
    order: Order
    fts5: Timings
    tantivy: Timings
    agree: tuple[int, int] | None
    """Newest first: ids in both engines' first pages, of the most either gave (per variant)."""


def build_fts5(
    corpus: Corpus, path: Path, count: int, round_size: int
) -> tuple[MessageIndex, Build]:
    index = MessageIndex(path)
    index.open(empty=True)
    say(f"FTS5: {count:,} messages through MessageIndex.apply, rounds of {round_size:,}")
    seeded = seed(index, corpus, count, round_size)
    began = time.perf_counter()
    index.checkpoint()
    settled = time.perf_counter() - began
    disk = sum(index_files(path).values())
    return index, Build("FTS5", count, seeded["apply_seconds"], settled, disk)


def build_tantivy(
    corpus: Corpus, path: Path, count: int, round_size: int
) -> tuple[TantivyIndex, Build]:
    """Rounds of ``round_size`` added and committed, as the follower would write them; the
    messages made outside the time, as ``seed`` does."""
    from tests.benchmarks.search_tantivy import TantivyIndex

    engine = TantivyIndex(path)
    say(f"tantivy: {count:,} messages, a commit every {round_size:,}")
    writing, tenth = 0.0, max(1, count // 10)
    for first in range(0, count, round_size):
        facts = [corpus.message(n) for n in range(first, min(count, first + round_size))]
        began = time.perf_counter()
        engine.add(facts)
        writing += time.perf_counter() - began
        done = first + len(facts)
        if done % tenth < round_size or done == count:
            print(f"  {done:>9,} indexed: {done / writing:>7,.0f} messages/s so far", flush=True)
    began = time.perf_counter()
    engine.settle()
    settled = time.perf_counter() - began
    built = Build("tantivy", count, writing, settled, engine.disk_bytes(), engine.segments())
    return engine, built


def agreement(
    index: MessageIndex, engine: TantivyIndex, requests: list[SearchRequest]
) -> tuple[int, int]:
    matched = compared = 0
    for request in requests:
        ours = {hit.message_id for hit in index.search(request).results}
        theirs = {hit.message_id for hit in engine.search(request).results}
        matched += len(ours & theirs)
        compared += max(len(ours), len(theirs))
    return matched, compared


def time_queries(index: MessageIndex, engine: TantivyIndex, corpus: Corpus, reps: int) -> list[Row]:
    """Each kind and order in FTS5 then at once in tantivy: whatever else the machine is doing
    meanwhile weighs on both."""
    rows = []
    for kind, texts in corpus.queries().items():
        for order in ORDERS:
            requests = requests_of(texts, corpus, order)
            fts5 = in_process(index, requests, reps)
            theirs = in_process(engine, requests, reps)
            agree = agreement(index, engine, requests) if order == "newest" else None
            rows.append(Row(kind, order, fts5, theirs, agree))
            print(table_row(rows[-1]), flush=True)
    return rows


# --- the report -----------------------------------------------------------------------------

HEADER = (
    "| query | order | FTS5 p50 | FTS5 p99 | tantivy p50 | tantivy p99 | tantivy ÷ FTS5 (p50) "
    "| hits FTS5 / tantivy | newest ids agree |\n|---|---|---|---|---|---|---|---|---|"
)


def table_row(row: Row) -> str:
    ours, theirs = percentiles(row.fts5[0]), percentiles(row.tantivy[0])
    hits = f"{row.fts5[1] / len(row.fts5[0]):.1f} / {row.tantivy[1] / len(row.tantivy[0]):.1f}"
    agree = f"{row.agree[0]} of {row.agree[1]}" if row.agree else "—"
    return (
        f"| {row.kind} | {row.order} | {ours['p50']:.2f} ms | {ours['p99']:.2f} ms "
        f"| {theirs['p50']:.2f} ms | {theirs['p99']:.2f} ms | {theirs['p50'] / ours['p50']:.2f} "
        f"| {hits} | {agree} |"
    )


def build_table(builds: Sequence[Build]) -> list[str]:
    lines = [
        "| engine | messages/s (rounds) | with settling | settling | on disk | MB a million "
        "| segments |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in builds:
        lines.append(
            f"| {b.engine} | {b.rate:,.0f} | {b.settled_rate:,.0f} | {b.settle_seconds:.1f} s "
            f"| {b.disk_bytes / 1e6:,.0f} MB | {b.disk_bytes / b.messages:,.0f} MB "
            f"| {'—' if b.segments is None else b.segments} |"
        )
    return lines


def report(
    args: argparse.Namespace,
    version: str,
    folding: bool,
    builds: Sequence[Build],
    rows: Sequence[Row],
    load: tuple[float, float],
) -> str:
    agreed = [row.agree for row in rows if row.agree]
    matched, compared = sum(a[0] for a in agreed), sum(a[1] for a in agreed)
    analyzer = (
        "its analyzer lowercasing and folding accents"
        if folding
        else 'its analyzer lowercasing only: NO accent folding in this tantivy-py, so "accents '
        'folded" finds nothing there'
    )
    lines = [
        f"# Search engines: FTS5 and tantivy, {args.messages:,} messages",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores, load average "
        f"{load[0]:.1f} before the queries, {load[1]:.1f} after (both engines timed in this "
        f"run, each kind in one then at once the other); Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, tantivy {version} ({analyzer}). Rounds of "
        f"{args.round:,} messages, a transaction (a commit) each.",
        "",
        *build_table(builds),
        "",
        f"First pages ({DEFAULT_RESULTS} results), {args.reps} searches of each kind in each "
        "engine, in this process; the caller in 100 groups of 1,000. Newest ids agree: "
        "messages in both first pages, over every variant of the kind.",
        "",
        HEADER,
        *(table_row(row) for row in rows),
        "",
        f"Newest first, the engines' first pages agree on {matched:,} of {compared:,} messages. "
        "Relevance is not compared: FTS5 ranks the caller's newest matches 150 at a time "
        "(search/pages.py), tantivy its BM25 top 20 over every match.",
        "",
        "Not expressible in tantivy as in FTS5: highlights of a prefix (a regex query names no "
        "terms for the snippet generator); a prefix after other words would be a phrase prefix "
        "query expanding its last word to 50 terms only (not asked here).",
    ]
    return "\n".join(lines) + "\n"


# --- the run --------------------------------------------------------------------------------


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.search_engines", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--messages", type=int, default=200_000, help="messages indexed")
    parser.add_argument("--round", type=int, default=1000, help="messages written at once")
    parser.add_argument("--reps", type=int, default=100, help="searches of each kind")
    parser.add_argument("--keep", action="store_true", help="keep both indexes")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(argv)
    version = ensure_tantivy()
    from tests.benchmarks.search_tantivy import FOLDING

    if not FOLDING:
        say("this tantivy-py has no Filter.ascii_fold: its analyzer only lowercases")
    work = Path(tempfile.mkdtemp(prefix="chat-search-engines-"))
    corpus = Recorded(args.messages)
    index, fts5 = build_fts5(corpus, work / "fts5" / INDEX_FILE, args.messages, args.round)
    try:
        twin = Recorded(args.messages, start=corpus.start)
        engine, theirs = build_tantivy(twin, work / "tantivy", args.messages, args.round)
        if twin.digest.digest() != corpus.digest.digest():
            raise RuntimeError("the two engines were given different messages")
        os.sync()  # (the builds' dirty pages written out before anything is timed)
        say(f"timing {2 * len(corpus.queries())} kinds of query in both, {args.reps} each")
        print(HEADER, flush=True)
        load_before = os.getloadavg()[0]
        rows = time_queries(index, engine, corpus, args.reps)
        load = (load_before, os.getloadavg()[0])
    finally:
        index.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    text = report(args, version, FOLDING, [fts5, theirs], rows, load)
    print("\n" + text, flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    say(f"wrote {RESULTS}" + (f"; the indexes are in {work}" if args.keep else ""))


if __name__ == "__main__":
    main()
