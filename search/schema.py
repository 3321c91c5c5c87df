"""The index's SQLite schema, and its connections: one writer, several readers (WAL).

- ``messages``: one document per message (``search.documents``), rowid by ``saved_at``.
  Its ``body`` is the text indexed (``search.highlights.indexed_text``), ``verbatim`` the
  body as written where that differs (it held a NUL or a highlight mark), NULL otherwise.
- ``message_text``: the FTS5 index of the bodies (``body``) and of each message's group and
  sender as tokens (``scope``). It holds no copy of the text: its content is the view
  ``message_text_source`` over ``messages``. Tokenizer ``unicode61 remove_diacritics 2``:
  case and accents folded by the engine; prefix indexes of 2 and 3 characters, so a short
  prefix is one doclist, not a merge of every word it begins. bm25 weighs ``scope`` 0.
- ``message_terms``: FTS5's own view of the index's terms (``fts5vocab``): how many messages
  hold a term, which a search asks to choose how to keep the caller's groups
  (``search.pages``). It stores nothing.
- ``positions``: per partition of the log, the next offset to apply and the keys' position
  (``records.sealing``), written in the transaction of the writes they cover.
- ``settings``: the schema's version, and since when deleted words await a purge.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    group_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sender_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    saved_at INTEGER NOT NULL,
    edited_at INTEGER,
    change INTEGER NOT NULL,
    body TEXT,
    verbatim TEXT
);
CREATE VIEW IF NOT EXISTS message_text_source (id, body, scope) AS
    SELECT id, body, 'g' || lower(hex(group_id)) || ' u' || lower(hex(sender_id))
    FROM messages;
CREATE VIRTUAL TABLE IF NOT EXISTS message_text USING fts5(
    body,
    scope,
    content = 'message_text_source',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
CREATE VIRTUAL TABLE IF NOT EXISTS message_terms USING fts5vocab(message_text, row);
CREATE TABLE IF NOT EXISTS positions (
    partition INTEGER PRIMARY KEY,
    next_offset INTEGER NOT NULL,
    keys INTEGER
);
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value
);
"""

PURGE_OWED_SINCE = "purge_owed_since"
"""``settings`` entry: when the first delete not yet purged was applied (epoch seconds)."""


class SchemaMismatch(RuntimeError):
    pass


def connect(path: Path, *, timeout: float = 5.0) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable from any thread
    (each is used by one at a time: the follower's, or a reader taken from the pool)."""
    connection = sqlite3.connect(
        path, timeout=timeout, isolation_level=None, check_same_thread=False
    )
    connection.execute("PRAGMA secure_delete = ON")  # deleted text is overwritten, not freed
    connection.execute("PRAGMA mmap_size = 1073741824")
    return connection


def open_writer(path: Path) -> sqlite3.Connection:
    """The one writing connection: WAL (readers read while it writes), the schema made."""
    connection = connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    # In WAL, NORMAL syncs at checkpoints, not at every commit: a crash may lose the last
    # rounds, and their positions with them, so they are read from the log again.
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA cache_size = -65536")
    connection.executescript(SCHEMA)  # (each statement idempotent)
    connection.execute("BEGIN IMMEDIATE")
    row = connection.execute("SELECT value FROM settings WHERE name = 'schema'").fetchone()
    if row is None:
        connection.execute("INSERT INTO settings VALUES ('schema', ?)", (SCHEMA_VERSION,))
        connection.execute(
            "INSERT INTO message_text (message_text, rank) VALUES ('rank', 'bm25(1.0, 0.0)')"
        )
    connection.execute("COMMIT")
    if row is not None and row[0] != SCHEMA_VERSION:
        connection.close()
        raise SchemaMismatch(
            f"the index at {path} has schema {row[0]}, this version reads {SCHEMA_VERSION}: "
            "rebuild it (python -m search rebuild)"
        )
    return connection


def open_reader(path: Path) -> sqlite3.Connection:
    connection = connect(path)
    connection.execute("PRAGMA query_only = ON")
    connection.execute("PRAGMA cache_size = -32768")
    return connection
