"""The live part of the search benchmark (``tests.benchmarks.search``): messages committed to
the event log at a steady rate as the agents commit them, while the search service's follower
indexes them, and how soon each marker message is found.

Time is measured in this process, on one clock: a marker's commit (its transaction's end),
the first ``POST /search`` answer that holds it (polled every ``POLL_EVERY``), and its
arrival at a bare read-committed consumer of the log (the baseline: what Kafka alone takes
to hand a committed record to a reader that waits as the follower does).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from agents.transactions import (
    NEXT_TRANSACTION_RETRY,
    TRANSACTION_RETRY_MS,
    retry_concurrent_transactions_after,
)
from records.facts import MessageSaved, read_fact
from records.kafka import BATCH_BYTES, LIVE_FETCH_WAIT_MS, committed_reader
from records.sealing import KEY_NO_HEADER, key_id, new_key, seal
from records.search import SearchAnswer, SearchRequest, parse_query
from records.settings import KafkaSettings
from tests.benchmarks.corpus import Corpus

PARTITION = 0
MARKER_EVERY = 0.1
"""Seconds between two marker messages (in the caller's groups)."""
POLL_EVERY = 0.005
FOUND_WITHIN = 30.0
"""A marker not found by then counts as not found."""


async def ask(session: aiohttp.ClientSession, url: str, request: SearchRequest) -> SearchAnswer:
    """``POST /search`` as the gateway's ``SearchClient`` asks it: the request as JSON, the
    answer read back into a ``SearchAnswer``."""
    async with session.post(f"{url}/search", json=request.model_dump(mode="json")) as response:
        if response.status != 200:
            raise RuntimeError(f"POST /search answered {response.status}: {await response.text()}")
        return SearchAnswer.model_validate(await response.json())


async def follower_counts(session: aiohttp.ClientSession, url: str) -> dict[str, float]:
    """From the service's metrics: saved messages its follower has applied, its rounds and
    their total duration."""
    async with session.get(f"{url}/metrics") as response:
        text = await response.text()
    counts = {"saved": 0.0, "rounds": 0.0, "round_seconds": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "chat_search_facts_total" and sample.labels["type"] == "MessageSaved":
                counts["saved"] = sample.value
            elif sample.name == "chat_search_round_seconds_count":
                counts["rounds"] = sample.value
            elif sample.name == "chat_search_round_seconds_sum":
                counts["round_seconds"] = sample.value
    return counts


class LogWriter:
    """Commits saved messages to the event log as the agents' decider does
    (``agents.transactions.PartitionProducer``): in one transaction, each body's key to the
    keys topic (numbered in log order), then the facts, their bodies sealed with those keys."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.topics = settings.topics
        self.producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            transactional_id=f"bench-search-{uuid.uuid4().hex}",
            enable_idempotence=True,
            acks="all",
            linger_ms=0,
            retry_backoff_ms=TRANSACTION_RETRY_MS,
            max_batch_size=BATCH_BYTES,
        )
        self.key_no = 0
        self.saved = 0
        self.transactions = 0

    async def start(self) -> None:
        retry_concurrent_transactions_after(NEXT_TRANSACTION_RETRY)  # as the decider does
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    async def commit(self, facts: list[MessageSaved]) -> None:
        """Returns once the transaction is committed."""
        producer, topics = self.producer, self.topics
        async with producer.transaction():
            sent, sealed = [], []
            for fact in facts:
                key = new_key()
                self.key_no += 1
                number = [(KEY_NO_HEADER, str(self.key_no).encode())]
                name = key_id(fact).encode()
                sent.append(
                    await producer.send(
                        topics.keys, key, key=name, partition=PARTITION, headers=number
                    )
                )
                sealed.append(seal(fact, key, self.key_no))
            for fact in sealed:
                group = fact.group_id.encode()
                sent.append(
                    await producer.send(
                        topics.events, fact.to_bytes(), key=group, partition=PARTITION
                    )
                )
            await asyncio.gather(*sent)
        self.saved += len(facts)
        self.transactions += 1


@dataclass
class Markers:
    """Marker messages: each a word of its own in one of the caller's groups; when each was
    committed, found by a search, and read by the bare consumer."""

    session: aiohttp.ClientSession
    url: str
    groups: list[str]
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    committed: dict[str, float] = field(default_factory=dict)
    found: dict[str, float] = field(default_factory=dict)
    received: dict[str, float] = field(default_factory=dict)
    searches: list[float] = field(default_factory=list)
    """Every poll's duration: searches answered while the index is being written."""
    polls: list[asyncio.Task[None]] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    """Each marker's word, by its ``client_msg_id``."""

    def make(self, corpus: Corpus) -> MessageSaved:
        token = f"mark{self.run}n{len(self.tokens)}"  # (letters and digits: one word)
        marker = corpus.marker(len(self.tokens), token)
        self.tokens[marker.client_msg_id] = token
        return marker

    def was_committed(self, marker: MessageSaved, at: float) -> None:
        self.committed[marker.client_msg_id] = at
        self.polls.append(asyncio.create_task(self._find(marker)))

    async def _find(self, marker: MessageSaved) -> None:
        token = self.tokens[marker.client_msg_id]
        request = SearchRequest(query=parse_query(token), group_ids=self.groups)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FOUND_WITHIN
        while loop.time() < deadline:
            began = loop.time()
            answer = await ask(self.session, self.url, request)
            now = loop.time()
            self.searches.append(now - began)
            if any(hit.message_id == marker.message_id for hit in answer.results):
                self.found[marker.client_msg_id] = now
                return
            await asyncio.sleep(POLL_EVERY)

    async def read(self, settings: KafkaSettings, reading: asyncio.Event) -> None:
        """The baseline: read the log from its end as the follower does (committed records
        only, ``LIVE_FETCH_WAIT_MS``), noting when each marker arrives. Until cancelled."""
        consumer = committed_reader(settings, fetch_max_wait_ms=LIVE_FETCH_WAIT_MS)
        await consumer.start()
        try:
            tp = TopicPartition(settings.topics.events, PARTITION)
            consumer.assign([tp])
            await consumer.seek_to_end(tp)
            await consumer.position(tp)
            reading.set()
            loop = asyncio.get_running_loop()
            while True:
                batches = await consumer.getmany(tp, timeout_ms=1000)
                now = loop.time()
                for record in batches.get(tp, []):
                    if record.value and b'"mark-' in record.value:
                        fact = read_fact(record.value)
                        if isinstance(fact, MessageSaved):
                            self.received.setdefault(fact.client_msg_id, now)
        finally:
            await consumer.stop()

    async def settled(self) -> None:
        await asyncio.gather(*self.polls)


async def write_at_rate(
    writer: LogWriter, corpus: Corpus, rate: float, seconds: float, markers: Markers | None
) -> float:
    """Commit messages at ``rate`` a second for ``seconds``: each transaction holds what came
    due while the last one committed (as a decider's rounds do), one of them a marker every
    ``MARKER_EVERY`` s. Returns the seconds it took, to the last commit."""
    loop = asyncio.get_running_loop()
    started, sent, marked = loop.time(), 0, 0
    while (elapsed := loop.time() - started) < seconds:
        due = int(elapsed * rate) + 1 - sent
        if due <= 0:
            await asyncio.sleep(max(0.0005, sent / rate - elapsed))
            continue
        marker = None
        if markers is not None and elapsed >= marked * MARKER_EVERY:
            marker, marked = markers.make(corpus), marked + 1
        facts = [corpus.live(sent + n) for n in range(due - (marker is not None))]
        await writer.commit([*facts, marker] if marker is not None else facts)
        sent += due
        if markers is not None and marker is not None:
            markers.was_committed(marker, loop.time())
    return loop.time() - started


async def live_run(
    settings: KafkaSettings,
    session: aiohttp.ClientSession,
    url: str,
    corpus: Corpus,
    *,
    rate: float,
    seconds: float,
    warm_up: float,
    service_cpu: Callable[[], float],
) -> dict[str, Any]:
    """A warm-up (its figures dropped), then the measured run; the raw figures, in seconds."""
    writer = LogWriter(settings)
    markers = Markers(session, url, corpus.caller_groups)
    await writer.start()
    reading = asyncio.Event()
    reader = asyncio.create_task(markers.read(settings, reading))
    try:
        await reading.wait()
        if warm_up:
            await write_at_rate(writer, corpus, rate, warm_up, None)
        saved_before, transactions = writer.saved, writer.transactions
        before, cpu = await follower_counts(session, url), service_cpu()
        took = await write_at_rate(writer, corpus, rate, seconds, markers)
        cpu = service_cpu() - cpu
        loop = asyncio.get_running_loop()
        stopped = loop.time()
        at_stop = await follower_counts(session, url)
        counts = at_stop
        while counts["saved"] < writer.saved and loop.time() - stopped < FOUND_WITHIN:
            await asyncio.sleep(0.01)
            counts = await follower_counts(session, url)
        caught_up = loop.time() - stopped if counts["saved"] >= writer.saved else None
        await markers.settled()
    finally:
        for task in [reader, *markers.polls]:
            task.cancel()
        await asyncio.gather(reader, *markers.polls, return_exceptions=True)
        await writer.stop()
    return {
        "written": writer.saved - saved_before,
        "seconds": took,
        "transactions": writer.transactions - transactions,
        "service_cpu_seconds": cpu,
        "behind_at_stop": int(writer.saved - at_stop["saved"]),
        "caught_up_s": caught_up,
        "rounds": counts["rounds"] - before["rounds"],
        "round_seconds": counts["round_seconds"] - before["round_seconds"],
        "markers": len(markers.committed),
        "findable": after(markers.committed, markers.found),
        "received": after(markers.committed, markers.received),
        "searches": markers.searches,
    }


def after(started: dict[str, float], ended: dict[str, float]) -> list[float]:
    """Seconds from each start to its end, for those that ended."""
    return [ended[name] - at for name, at in started.items() if name in ended]
