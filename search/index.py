"""The message index: SQLite FTS5 in one file, written by the follower, read by searches.

Writes are rounds (``apply``): a round's facts folded into the documents they change
(``search.documents.Round``), written with the log's position and the keys' position in ONE
transaction, so a restart resumes exactly where the index is and a crash re-applies a round
harmlessly (the fold is idempotent).

What a delete erases, and when (``purge_every_hours``, at most ``erase_within_hours``):
- at once, in the round's transaction: the body leaves ``messages`` (the document stays as a
  tombstone: ids, group, sender, times, which the log keeps in clear too) and the message
  leaves the FTS index, so no search finds it from the next query on. With
  ``secure_delete`` the body's bytes are overwritten with zeros, in the WAL first and in the
  database file at the next checkpoint;
- by ``purge``, at most ``purge_every_hours`` after the first delete not yet purged: FTS5
  keeps a deleted message's words (the vocabulary and positions of its bodies, every
  version) in the index's older segments until they are merged. ``optimize`` merges them all
  into one without them, the freed pages are zeroed, and a TRUNCATE checkpoint empties the
  WAL, so no copy of the text or its words is left in the files.
"""

from __future__ import annotations

import contextlib
import fcntl
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from records.facts import Fact
from records.search import SearchAnswer, SearchRequest
from search import cursor as cursors
from search import pages
from search.documents import ROWID_SLOTS_BITS, Document, Round
from search.query import Search
from search.schema import PURGE_OWED_SINCE, open_reader, open_writer

_DOCUMENT_COLUMNS = (
    "id, message_id, group_id, seq, sender_id, sender, saved_at, edited_at, change,"
    " coalesce(verbatim, body)"
)
_UPSERT = """
INSERT INTO messages (
    id, message_id, group_id, seq, sender_id, sender, saved_at, edited_at, change, body,
    verbatim
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    edited_at = excluded.edited_at, change = excluded.change, body = excluded.body,
    verbatim = excluded.verbatim
"""


class IndexInUse(RuntimeError):
    """Another process has the index open (a running service, or a rebuild)."""


class SearchTimeout(RuntimeError):
    """A search ran past ``query_timeout`` and was interrupted."""


@dataclass(frozen=True)
class Applied:
    """What a round changed: messages indexed, edited, deleted."""

    indexed: int = 0
    edited: int = 0
    deleted: int = 0


class MessageIndex:
    def __init__(
        self,
        path: Path,
        *,
        readers: int = 4,
        relevance_window: int = 150,
        query_timeout: float = 2.0,
    ) -> None:
        self.path = path
        self.relevance_window = relevance_window
        self.query_timeout = query_timeout
        self._reader_count = readers
        self._readers: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._writer: sqlite3.Connection | None = None
        self._writing = threading.Lock()
        """Held while the writer is used: ``close`` waits for a round in a thread to end."""
        self._lock: IO[str] | None = None

    # --- opening and closing ------------------------------------------------------------

    def open(self, *, empty: bool = False) -> None:
        """Open the index (``empty``: its files deleted first, to be built from the log),
        creating it if need be; ``IndexInUse`` if another process has it open."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise IndexInUse(f"{self.path} is open in another process") from None
        try:
            if empty:
                for suffix in ("", "-wal", "-shm"):
                    self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
            self._writer = open_writer(self.path)
        except BaseException:
            lock.close()
            raise
        self._lock = lock
        for _ in range(self._reader_count):
            self._readers.put(open_reader(self.path))

    def close(self) -> None:
        with self._writing:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        for _ in range(self._reader_count):
            with contextlib.suppress(queue.Empty):  # (one stuck in a search is left behind)
                self._readers.get(timeout=self.query_timeout + 1).close()
        if self._lock is not None:
            self._lock.close()  # (releases the lock)
            self._lock = None

    # --- writing (the follower's thread) --------------------------------------------------

    def positions(self) -> tuple[dict[int, int], dict[int, int]]:
        """Per partition, the next offset of the log to apply, and the keys' position."""
        with self._writing:
            rows = self._db().execute("SELECT partition, next_offset, keys FROM positions")
            found, keys = {}, {}
            for partition, offset, key in rows:
                found[partition] = offset
                if key is not None:
                    keys[partition] = key
            return found, keys

    def apply(
        self,
        facts: Sequence[Fact],
        positions: Mapping[int, int],
        keys: Mapping[int, int] | None = None,
    ) -> Applied:
        """Apply a round of facts and record the positions it reaches, in one transaction."""
        with self._writing:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                fold = Round(self._stored, self._place)
                for fact in facts:
                    fold.add(fact)
                applied = self._write(db, fold.changes())
                db.executemany(
                    "INSERT INTO positions VALUES (?, ?, ?) ON CONFLICT (partition) DO UPDATE "
                    "SET next_offset = excluded.next_offset, keys = excluded.keys",
                    [(p, offset, (keys or {}).get(p)) for p, offset in positions.items()],
                )
                if applied.deleted:
                    db.execute(
                        "INSERT INTO settings VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                        (PURGE_OWED_SINCE, time.time()),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return applied

    def _write(
        self, db: sqlite3.Connection, changes: list[tuple[Document | None, Document]]
    ) -> Applied:
        # The engine flushes its pending terms whenever a rowid goes back: each kind of write
        # goes in rowid order, so a round is a segment or two, not one per message.
        gone = sorted(
            (b for b, a in changes if b is not None and b.text is not None and b.text != a.text),
            key=lambda doc: doc.rowid,
        )
        new = sorted(
            (a for b, a in changes if a.text is not None and (b is None or b.text != a.text)),
            key=lambda doc: doc.rowid,
        )
        db.executemany(
            "INSERT INTO message_text (message_text, rowid, body, scope)"
            " VALUES ('delete', ?, ?, ?)",
            [(doc.rowid, doc.text, doc.scope) for doc in gone],
        )
        db.executemany(
            _UPSERT,
            [
                (a.rowid, a.message_id, a.group_id, a.seq, a.sender_id, a.sender, a.saved_at,
                 a.edited_at, a.change, a.text, a.body if a.body != a.text else None)
                for _, a in changes
            ],
        )  # fmt: skip
        db.executemany(
            "INSERT INTO message_text (rowid, body, scope) VALUES (?, ?, ?)",
            [(doc.rowid, doc.text, doc.scope) for doc in new],
        )
        return Applied(
            indexed=sum(1 for b, a in changes if b is None and a.body),
            edited=sum(1 for b, a in changes if b is not None and b.body and a.body),
            deleted=sum(1 for b, a in changes if b is not None and b.body and not a.body),
        )

    def _stored(self, message_id: str) -> Document | None:
        db = self._db()
        select = f"SELECT {_DOCUMENT_COLUMNS} FROM messages WHERE message_id = ?"
        row = db.execute(select, (message_id,)).fetchone()
        return Document(*row) if row is not None else None

    def _place(self, base: int, placed: set[int]) -> int:
        db = self._db()
        last = db.execute(
            "SELECT max(id) FROM messages WHERE id BETWEEN ? AND ?",
            (base, base + (1 << ROWID_SLOTS_BITS) - 1),
        ).fetchone()[0]
        rowid = base if last is None else last + 1
        taken = "SELECT 1 FROM messages WHERE id = ?"
        while rowid in placed or db.execute(taken, (rowid,)).fetchone():
            rowid += 1  # (past a millisecond's slots: the next one's, still in order)
        return rowid

    def checkpoint(self) -> None:
        """Move the write-ahead log into the database file (and empty it)."""
        with self._writing:
            self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def purge_owed_since(self) -> float | None:
        """When the first delete whose words are still in old segments was applied."""
        with self._writing:
            row = (
                self._db()
                .execute("SELECT value FROM settings WHERE name = ?", (PURGE_OWED_SINCE,))
                .fetchone()
            )
            return float(row[0]) if row is not None else None

    def purge(self) -> bool:
        """Merge the index into one segment, leaving deleted messages' words behind, and
        empty the WAL; False if a reader kept the WAL from being emptied (try again)."""
        with self._writing:
            db = self._db()
            db.execute("INSERT INTO message_text (message_text) VALUES ('optimize')")
            # Waits (the busy timeout) for the searches reading older pages to end.
            busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if busy:
                return False
            db.execute("DELETE FROM settings WHERE name = ?", (PURGE_OWED_SINCE,))
            return True

    def _db(self) -> sqlite3.Connection:
        if self._writer is None:
            raise RuntimeError("the index is not open")
        return self._writer

    # --- reading (any thread) -------------------------------------------------------------

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        db = self._readers.get()
        deadline = time.monotonic() + self.query_timeout
        db.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        try:
            db.execute("BEGIN")  # (a search's statements read the same snapshot)
            try:
                yield db
            finally:
                db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise SearchTimeout(f"the search took over {self.query_timeout} s") from exc
            raise
        finally:
            db.set_progress_handler(None, 0)
            self._readers.put(db)

    def ping(self) -> None:
        """Answers if a reader can read the index."""
        with self._reader() as db:
            db.execute("SELECT count(*) FROM positions").fetchone()

    def search(self, request: SearchRequest) -> SearchAnswer:
        """The request's page of results; ``QueryRefused``, ``CursorInvalid``."""
        plan = Search.of(request)
        cursor = cursors.decode(request)
        if not request.group_ids or (request.query.senders and not request.sender_ids):
            return SearchAnswer(results=[])  # no group, or from: names nobody
        with self._reader() as db:
            if request.order == "newest":
                return pages.newest(db, request, plan, cursor)
            return pages.most_relevant(db, request, plan, cursor, self.relevance_window)
