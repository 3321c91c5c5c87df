"""Message bodies sealed in the event log, so a delete can erase them from it.

The event log is kept forever and never rewritten, so a body written into it in clear could
never be taken back. Instead every body (a message's, and each edit's) is sealed with a key of
its own, AES-256-GCM, and only the sealed text goes into the fact. The key goes, in the same
transaction, to the keys topic: compacted, co-partitioned with the log, one record per key,
keyed by ``key_id``. A delete writes a tombstone for each key of the message; compaction then
removes the keys themselves (within ``erase_within_hours``), and from then on nothing can
open the message's bodies, in the log, in a copy of it or in a replay (which rebuilds the
message as deleted).

Each sealed fact names its key by ``key_no``: a number the deciding partition gives its keys
and tombstones in log order. A reader reads the keys partition alongside the log
(``Keyring``), so a key is found by reading on, never by a lookup, and a key that compaction
removed is known gone as soon as a higher number shows up: its own tombstone at the latest,
which is kept for good (it holds a key id, nothing of the message).
"""

from __future__ import annotations

import base64
import logging
import os
import time
from typing import TypeVar, cast

from aiokafka import AIOKafkaConsumer, TopicPartition
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from records.facts import Fact, MessageEdited, MessageSaved, read_fact
from records.kafka import LIVE_FETCH_WAIT_MS, committed_reader
from records.settings import KafkaSettings

log = logging.getLogger(__name__)

KEY_NO_HEADER = "key_no"
NONCE_BYTES = 12

Sealable = TypeVar("Sealable", MessageSaved, MessageEdited, MessageSaved | MessageEdited)
"""A fact with a body: sealing or opening one gives the same type back (the union among the
constraints lets a caller holding either, not knowing which, pass it)."""
AnyFact = TypeVar("AnyFact", bound=Fact)


def key_id(fact: MessageSaved | MessageEdited) -> str:
    """The keys topic's record key of a body's key: the message for its first body, the
    message and the change for an edit's."""
    if isinstance(fact, MessageEdited):
        return edit_key_id(fact.message_id, fact.change)
    return fact.message_id


def edit_key_id(message_id: str, change: int) -> str:
    return f"{message_id}/{change}"


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(fact: Sealable, key: bytes, key_no: int) -> Sealable:
    """The fact as it goes into the log: the body sealed with ``key`` (bound to the key's id,
    so a sealed body cannot be moved onto another message), the clear body empty."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, fact.body.encode(), key_id(fact).encode())
    text = base64.b64encode(nonce + sealed).decode()
    return fact.model_copy(update={"body": "", "sealed": text, "key_no": key_no})


def unseal(fact: Sealable, key: bytes | None) -> Sealable:
    """The fact with its body in clear; with no key (erased) or a key that does not open it,
    the body stays empty and the fact is marked ``erased``."""
    if fact.sealed is None:
        return fact
    if key is not None:
        raw = base64.b64decode(fact.sealed)
        try:
            body = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], key_id(fact).encode())
            return fact.model_copy(update={"body": body.decode(), "sealed": None})
        except (InvalidTag, ValueError):
            pass
    return fact.model_copy(update={"body": "", "sealed": None, "erased": True})


class Keyring:
    """The keys of the bodies in some partitions of the log, read from the keys topic in step
    with it: ``open`` gives a fact its body back.

    Keys and facts are committed in the same transactions, in the same order, so the key of
    the fact being read is at most a few records ahead. Keys read ahead wait in memory until
    their fact comes; keys passed (their message was deleted before this reader got to it,
    or a fact before the position read from) are forgotten. ``positions`` is, per partition,
    the offset after the last key used: a reader that records it with the log's position
    resumes both in step.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        patience: float = 10.0,
    ) -> None:
        self.topic = settings.topics.keys
        self.patience = patience
        """Seconds between two warnings while a key is waited for (Kafka away, say). A key
        is never given up on by time: it is either read or passed by a higher number (every
        erased key is followed by its own tombstone, kept for good)."""
        self.positions: dict[int, int] = {}
        self._settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        self._own = False
        self._ahead: dict[int, dict[int, tuple[bytes, int]]] = {}
        """Partition → key number → (key, offset), read and not used yet."""
        self._highest: dict[int, int] = {}
        """Partition → the highest key number read (a key or a tombstone)."""

    def partitions(self, partitions: list[int]) -> list[TopicPartition]:
        return [TopicPartition(self.topic, p) for p in partitions]

    def share(self, consumer: AIOKafkaConsumer) -> None:
        """Read the keys with a consumer of the reader's own (started, with the keys'
        ``partitions`` among those it is assigned), so that one fetch brings facts and keys:
        a consumer of their own would poll the broker as often again. Instead of ``start``."""
        self._consumer, self._own = consumer, False

    async def start(self) -> None:
        """Read the keys with a consumer of the keyring's own."""
        self._consumer = committed_reader(self._settings, fetch_max_wait_ms=LIVE_FETCH_WAIT_MS)
        await self._consumer.start()
        self._own = True

    async def stop(self) -> None:
        if self._own and self._consumer is not None:
            await self._consumer.stop()

    async def follow(self, starts: dict[int, int | None]) -> None:
        """Read these partitions, each from the offset given, or from its end (None: a
        reader that starts reading the log from its end, having read the keys' end first, so
        that no fact after its start has its key before it). A keyring with its own consumer
        reads only these; a shared consumer must be assigned them already."""
        assert self._consumer is not None, "start or share first"
        tps = dict(zip(starts, self.partitions(list(starts)), strict=True))
        if self._own:
            self._consumer.assign(list(tps.values()))
        self._ahead.clear()
        self._highest.clear()
        for partition, tp in tps.items():
            if (start := starts[partition]) is None:
                await self._consumer.seek_to_end(tp)
                self.positions[partition] = await self._consumer.position(tp)
            else:
                self._consumer.seek(tp, start)
                self.positions[partition] = int(start)
            self._ahead[partition] = {}
            self._highest[partition] = 0

    async def read(self, partition: int, raw: bytes | None) -> Fact:
        """One record of the log as a fact, its body opened: what every reader of the log
        does with a record (``pydantic.ValidationError`` if it is not a fact)."""
        return await self.open(partition, read_fact(raw or b""))

    async def open(self, partition: int, fact: AnyFact) -> AnyFact:
        """``fact`` with its body in clear (``erased`` if its key is gone); any other fact
        as it is."""
        if not isinstance(fact, MessageSaved | MessageEdited):
            return fact
        if fact.sealed is None or fact.key_no is None:
            return fact
        opened = unseal(fact, await self._key(partition, fact.key_no))
        return cast(AnyFact, opened)

    async def _key(self, partition: int, key_no: int) -> bytes | None:
        if partition not in self._ahead or self._consumer is None:
            raise LookupError(f"the keys of partition {partition} are not read here")
        tp = TopicPartition(self.topic, partition)
        ahead = self._ahead[partition]
        waited_since = time.monotonic()
        while key_no not in ahead and self._highest[partition] < key_no:
            records = (await self._consumer.getmany(tp, timeout_ms=500)).get(tp, [])
            for record in records:
                number = _key_no(record.headers)
                if number is None:
                    continue
                self._highest[partition] = max(self._highest[partition], number)
                if record.value is not None:  # (a tombstone: its key is erased or going)
                    ahead[number] = (record.value, record.offset)
            if time.monotonic() - waited_since > self.patience:
                log.warning("still waiting for key %d of partition %d", key_no, partition)
                waited_since = time.monotonic()
        found = ahead.pop(key_no, None)
        # Keys are read in number order, so those passed are at the front: dropping them is
        # a look at the first few, not a scan of all read ahead for every key used.
        while ahead and (first := next(iter(ahead))) < key_no:
            del ahead[first]
        if found is None:
            return None  # a higher number came first: this key was erased
        self.positions[partition] = found[1] + 1
        return found[0]


def _key_no(headers: object) -> int | None:
    for name, value in headers or ():  # type: ignore[attr-defined]
        if name == KEY_NO_HEADER:
            return int(value)
    return None
