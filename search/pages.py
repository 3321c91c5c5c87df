"""A page of results, read on one of the index's reader connections: the statements of
``search.query`` run, the rows as ``SearchHit``s, and the cursor of the next page.

- ``newest``: the engine's rowid order (``saved_at``, ``search.documents``), newest first;
  the next page is below the last rowid given. The text's newest ``CANDIDATES_SCANNED``
  matches are looked through first, the join keeping the caller's (a word they use often,
  or a rare word: a millisecond or two); past them, the engine is asked to keep only the
  caller's groups (``scoped``), which a word common elsewhere but not in them needs.
- ``relevance``: FTS5's bm25 rank, window by window: the caller's newest ``window``
  matches ranked first, then the ``window`` before them, and so on (bm25 is computed for
  every row ranked: over all matches of a common word, a page would cost a scan of them
  all). The windows are fixed as the pages reach them, so messages saved since neither shift
  nor join the pages; the next page goes on in the window where this one stopped.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from records.search import SearchAnswer, SearchHit, SearchRequest
from records.views import iso
from search import cursor as cursors
from search.cursor import Cursor
from search.documents import moment
from search.highlights import offsets
from search.query import (
    CANDIDATES,
    HITS,
    NEWEST,
    RELEVANCE,
    STEM_MESSAGES,
    TERM_MESSAGES,
    WINDOW_CANDIDATES,
    WINDOW_ROWIDS,
    WINDOW_START,
    Search,
)

CANDIDATES_SCANNED = 2000
"""Newest matches of the text looked through for the caller's before the engine is asked to
keep their groups itself (measured over 1M messages, 10% of them the caller's: 2,000
candidates cost 3-5 ms; scoped, a word's lookup costs a millisecond or so per 100 groups;
10,000 scanned first made a caller in 2 groups wait 14 ms for a common word, against 3)."""
FEW_MATCHES = 20_000
"""Past the first candidates, a text held by at most this many messages is filtered row by
row, not by naming the caller's groups to the engine: with a hundred groups named, the engine
seeks each group's rows at every match (over 1M messages, a word of 9,000 matches found only
in other groups: 23 ms scoped, 13 ms row by row), and ranking them all would cost more."""
WINDOW_SCANNED = 20
"""Ranked, the caller's ``window``-th newest match is looked for among the text's newest
``window`` x this: where their groups hold a twentieth of the text's matches or more, the
engine ranks the text's matches in that range (no lookup of the groups' tokens); where they
hold less, it keeps the groups itself. With ``from:``, neither scan: the engine keeps the
senders' tokens from the start (``search.query.scope_expression``). Over 1M messages, the
caller in a tenth of the groups: a common word ranked in 8 ms at 20, 16 ms at 10 (where a
tenth is the caller's, a scan of ten windows falls just short about half the time, and
naming a hundred groups costs bm25 a count of each one's rows)."""


def newest(
    db: sqlite3.Connection, request: SearchRequest, plan: Search, cursor: Cursor | None
) -> SearchAnswer:
    high = plan.high if cursor is None or cursor.below is None else cursor.below - 1
    high = min(high, plan.high)  # (a cursor never widens the days asked for)
    wanted = request.limit + 1
    rows: list[Any] = []
    scanned, last = 0, high + 1
    budget = 0 if plan.by_sender else CANDIDATES_SCANNED
    marked: dict[int, str] = {}
    candidates = db.execute(CANDIDATES, plan.parameters(scoped=False, high=high, budget=budget))
    try:
        for rowid, mine, highlights in candidates:
            scanned, last = scanned + 1, rowid
            if mine:
                marked[rowid] = highlights
                if len(marked) == wanted:
                    break
    finally:
        candidates.close()
    if marked:
        ids = {"ids": orjson.dumps(list(marked)).decode()}
        found = {row[0]: (*row, marked[row[0]]) for row in db.execute(HITS, ids)}
        rows = [found[rowid] for rowid in marked]
    if len(rows) < wanted and scanned == budget:
        scoped = not _few_matches(db, plan)
        rest = plan.parameters(scoped=scoped, high=last - 1, limit=wanted - len(rows))
        rows += db.execute(NEWEST, rest).fetchall()
    page = rows[: request.limit]
    more = len(rows) > request.limit
    next_cursor = cursors.encode(request, Cursor(below=page[-1][0])) if more else None
    return SearchAnswer(results=[_hit(row) for row in page], next_cursor=next_cursor)


def most_relevant(
    db: sqlite3.Connection,
    request: SearchRequest,
    plan: Search,
    cursor: Cursor | None,
    window: int,
) -> SearchAnswer:
    if cursor is not None and cursor.window is not None:
        (low, high), offset, scoped = cursor.window, cursor.offset, cursor.scoped
        low, high = max(low, plan.low), min(high, plan.high)
    else:
        newest_rowid = db.execute("SELECT max(id) FROM messages").fetchone()[0] or 0
        high, offset = min(plan.high, newest_rowid), 0
        low, scoped = _window(db, plan, high, window)
    wanted = request.limit + 1
    rows: list[Any] = []
    places: list[Cursor] = []
    """Where each row is: its window, and its rank in it (a page may span two)."""
    while low <= high:  # (an empty window: none of the caller's matches is left)
        parameters = plan.parameters(
            scoped=scoped, low=low, high=high, limit=wanted - len(rows), offset=offset
        )
        ranked = db.execute(RELEVANCE, parameters).fetchall()
        places += [
            Cursor(offset=offset + n, window=(low, high), scoped=scoped) for n in range(len(ranked))
        ]
        rows += ranked
        if len(rows) == wanted or low <= plan.low:
            break
        high, offset = low - 1, 0  # the window is done: the caller's next older matches
        low, scoped = _window(db, plan, high, window)
    page = rows[: request.limit]
    next_cursor = cursors.encode(request, places[-1]) if len(rows) == wanted else None
    return SearchAnswer(results=[_hit(row) for row in page], next_cursor=next_cursor)


def _window(db: sqlite3.Connection, plan: Search, high: int, window: int) -> tuple[int, bool]:
    """Where the ranking starts: the rowid of the caller's ``window``-th newest match (the
    range's first, when fewer match; past ``high`` when none does), and whether the engine is
    to keep the caller's groups itself (their matches are few among the text's)."""
    found = scanned = 0
    last = high + 1
    budget = 0 if plan.by_sender else window * WINDOW_SCANNED
    candidates = db.execute(
        WINDOW_CANDIDATES, plan.parameters(scoped=False, high=high, budget=budget)
    )
    try:
        for rowid, wanted in candidates:
            scanned, last = scanned + 1, rowid
            found += wanted
            if found == window:
                return rowid, False
    finally:
        candidates.close()
    if scanned < budget:
        return plan.low, False  # every match seen: fewer than the window are the caller's
    if _few_matches(db, plan):
        # The rest of the text's matches row by row; if the caller has fewer than a window
        # of them, the engine ranks theirs alone (ranking all of them would cost more).
        rest = db.execute(
            WINDOW_ROWIDS, plan.parameters(scoped=False, high=last - 1, window=window - found)
        ).fetchall()
        if found + len(rest) == window:
            return rest[-1][0], False
        return (plan.low, True) if found or rest else (high + 1, True)
    start = db.execute(
        WINDOW_START, plan.parameters(scoped=True, high=high, window=window - 1)
    ).fetchone()
    return (start[0] if start is not None else plan.low), True


def _few_matches(db: sqlite3.Connection, plan: Search) -> bool:
    """Whether the text is held by few messages (``FEW_MATCHES``), by the engine's own
    counts of its terms: the rarest word's, or a prefix's terms' added up."""
    counts = [(db.execute(TERM_MESSAGES, {"term": t}).fetchone() or (0,))[0] for t in plan.terms]
    counts += [db.execute(STEM_MESSAGES, {"stem": s}).fetchone()[0] for s in plan.stems]
    return bool(counts) and min(counts) <= FEW_MATCHES


def _hit(row: Any) -> SearchHit:
    _, _, group_id, message_id, seq, sender_id, sender, body, saved_at, edited_at, marked = row
    return SearchHit(
        group_id=group_id,
        message_id=message_id,
        seq=seq,
        sender_id=sender_id,
        sender=sender,
        body=body,
        saved_at=iso(moment(saved_at)),
        edited_at=iso(moment(edited_at)) if edited_at is not None else None,
        highlights=offsets(marked),
    )
