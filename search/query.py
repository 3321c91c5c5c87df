"""A ``SearchRequest`` as SQL: the FTS5 MATCH expression, built only from the query's fields,
each term an FTS5 string, and the filters that keep the caller's groups.

The text parts are ANDed in the ``body`` column: words and phrases quoted (a phrase's words
in order), a prefix quoted with ``*`` after it. Nothing a person typed reaches the engine
as syntax: a quote inside a term is doubled.

The groups searched (and the senders ``from:`` names) are kept by the join, in every
statement: the answer never depends on anything else. They can also be named to the engine,
as tokens of the ``scope`` column ORed (``scoped``), while there are few enough: it then
skips whatever is outside them itself, instead of the join doing it row by row. That costs a
lookup of each token (and, ranked, bm25 counts each token's rows), so ``search.pages`` asks
with the text alone first and names the groups only when the text's newest matches are
mostly other groups' (a common word in other groups: 50 ms in 200k messages, 0.1 ms scoped).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import orjson

from records.search import MAX_TERMS, MIN_PREFIX_CHARS, SearchQuery, SearchRequest
from search.documents import group_token, millis, rowid_base, sender_token

MAX_SCOPE_TOKENS = 300
"""Most groups (or senders) named in the MATCH expression; past this, only the join filters
them (an OR of more doclists costs more than it saves)."""
MAX_TERM_CHARS = 500
LAST_ROWID = 2**63 - 1


class QueryRefused(ValueError):
    """A query the service does not run, with what is wrong with it, for people."""


def quoted(term: str) -> str:
    """An FTS5 string: any text, its quotes doubled, read by the tokenizer, never as syntax."""
    return '"' + term.replace('"', '""') + '"'


def text_expression(query: SearchQuery) -> str:
    check(query)
    parts = [quoted(word) for word in query.words]
    parts += [quoted(phrase) for phrase in query.phrases]
    parts += [f"{quoted(stem)} *" for stem in query.prefixes]
    return f"body : ({' AND '.join(parts)})"


def check(query: SearchQuery) -> None:
    """What ``records.search.parse_query`` ensures of a query typed, ensured of one sent:
    the service runs only what the gateway could have asked."""
    terms = [*query.words, *query.phrases, *query.prefixes]
    if not terms:
        raise QueryRefused("give at least one word to search for")
    if len(terms) > MAX_TERMS:
        raise QueryRefused(f"at most {MAX_TERMS} words, phrases and prefixes in a query")
    for term in terms:
        if len(term) > MAX_TERM_CHARS or any(c < " " or "\x7f" <= c <= "\x9f" for c in term):
            raise QueryRefused("a term is too long or has control characters")
    for stem in query.prefixes:
        if sum(c.isalnum() or c == "_" for c in stem) < MIN_PREFIX_CHARS:
            raise QueryRefused(f"a prefix needs at least {MIN_PREFIX_CHARS} letters before the *")


def scope_expression(request: SearchRequest) -> str:
    """The senders searched (``from:``), else the groups, as tokens of the ``scope`` column,
    ORed; nothing where there are too many to name. The join keeps both, whatever this names."""
    if request.sender_ids and len(request.sender_ids) <= MAX_SCOPE_TOKENS:
        # A person's messages are few beside their groups': the engine reads their tokens'
        # rows alone (each of a hundred groups' tokens costs a seek at every match).
        senders = " OR ".join(quoted(sender_token(s)) for s in sorted(set(request.sender_ids)))
        return f" AND scope : ({senders})"
    if len(request.group_ids) <= MAX_SCOPE_TOKENS:
        groups = " OR ".join(quoted(group_token(g)) for g in sorted(set(request.group_ids)))
        return f" AND scope : ({groups})"
    return ""


def folded_terms(texts: list[str]) -> list[str]:
    """The tokens ``unicode61 remove_diacritics 2`` makes of ``texts``, near enough to look
    their counts up (``message_terms``): case folded, accents dropped, split at anything
    that is not a letter or a digit."""
    tokens: list[str] = []
    for text in texts:
        bare = "".join(
            c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c)
        )
        tokens += "".join(c if c.isalnum() else " " for c in bare).split()
    return tokens


def day_start(day: date) -> int:
    return millis(datetime.combine(day, time(), tzinfo=UTC))


@dataclass(frozen=True)
class Search:
    """The parameters of a request's statements (``NEWEST`` and its siblings)."""

    text: str
    """The MATCH expression of the text alone."""
    scoped: str
    """The text, and the groups and senders searched as ``scope`` tokens."""
    groups: str
    senders: str | None
    by_sender: bool
    """``scoped`` names the senders: few rows, so it is asked first (no text scan before)."""
    low: int
    """The first rowid searched (``after``: the day after it began)."""
    high: int
    """The last rowid searched (``before``: the last before that day began)."""
    terms: tuple[str, ...] = ()
    """The words the text must hold (its words, its phrases' words) as the tokenizer keeps
    them, whose counts bound how many messages match (``search.pages``)."""
    stems: tuple[str, ...] = ()
    """The prefixes as the tokenizer keeps them: the counts of the terms each begins add
    up to a bound too."""

    @classmethod
    def of(cls, request: SearchRequest) -> Search:
        query = request.query
        text = text_expression(query)
        low = rowid_base(day_start(query.after + timedelta(days=1))) if query.after else 0
        high = rowid_base(day_start(query.before)) - 1 if query.before else LAST_ROWID
        return cls(
            text=text,
            scoped=text + scope_expression(request),
            groups=orjson.dumps(sorted(set(request.group_ids))).decode(),
            senders=orjson.dumps(request.sender_ids).decode() if request.sender_ids else None,
            by_sender=0 < len(request.sender_ids) <= MAX_SCOPE_TOKENS,
            low=low,
            high=high,
            terms=tuple(folded_terms([*query.words, *query.phrases])),
            stems=tuple(t for stem in query.prefixes for t in folded_terms([stem])[-1:]),
        )

    def parameters(self, *, scoped: bool, **more: int) -> dict[str, object]:
        return {
            "match": self.scoped if scoped else self.text,
            "groups": self.groups,
            "senders": self.senders,
            "low": self.low,
            "high": self.high,
            **more,
        }


# CROSS JOIN keeps the FTS table the outer loop: the engine hands rows over in the order
# asked (rowid, or rank), and the page's LIMIT stops it early.
_MATCHING = """
FROM message_text CROSS JOIN messages AS m ON m.id = message_text.rowid
WHERE message_text MATCH :match AND message_text.rowid BETWEEN :low AND :high
"""
_WANTED = """(
    m.group_id IN (SELECT value FROM json_each(:groups))
    AND (:senders IS NULL OR m.sender_id IN (SELECT value FROM json_each(:senders)))
)"""
_HIT_COLUMNS = """
m.group_id, m.message_id, m.seq, m.sender_id, m.sender, coalesce(m.verbatim, m.body),
m.saved_at, m.edited_at
"""
_HIGHLIGHTS = "highlight(message_text, 0, char(1), char(2))"

CANDIDATES = f"""
SELECT m.id, {_WANTED}, CASE WHEN {_WANTED} THEN {_HIGHLIGHTS} END
{_MATCHING}
ORDER BY message_text.rowid DESC LIMIT :budget
"""
"""The newest ``budget`` matches, each saying whether it is in the groups (and from the
senders) searched, with its highlights if it is (their columns read by ``HITS``: a match
of other groups costs its group's lookup alone)."""
HITS = f"""
SELECT m.id, 1, {_HIT_COLUMNS} FROM messages AS m
WHERE m.id IN (SELECT value FROM json_each(:ids))
"""
WINDOW_CANDIDATES = f"""
SELECT m.id, {_WANTED} {_MATCHING} ORDER BY message_text.rowid DESC LIMIT :budget
"""
NEWEST = f"""
SELECT m.id, 1, {_HIT_COLUMNS}, {_HIGHLIGHTS} {_MATCHING} AND {_WANTED}
ORDER BY message_text.rowid DESC LIMIT :limit
"""
RELEVANCE = f"""
SELECT m.id, 1, {_HIT_COLUMNS}, {_HIGHLIGHTS} {_MATCHING} AND {_WANTED}
ORDER BY message_text.rank LIMIT :limit OFFSET :offset
"""
WINDOW_ROWIDS = f"""
SELECT message_text.rowid {_MATCHING} AND {_WANTED}
ORDER BY message_text.rowid DESC LIMIT :window
"""
"""The rowids of the caller's ``window`` newest matches (fewer: as many as there are)."""
TERM_MESSAGES = "SELECT doc FROM message_terms WHERE term = :term"
"""How many messages hold a term (0 when none: no row)."""
STEM_MESSAGES = """
SELECT coalesce(sum(doc), 0) FROM message_terms
WHERE term >= :stem AND term < :stem || char(1114111)
"""
"""At least as many as the messages that hold a term ``stem`` begins (one holding two counts
twice)."""
WINDOW_START = f"""
SELECT message_text.rowid {_MATCHING} AND {_WANTED}
ORDER BY message_text.rowid DESC LIMIT 1 OFFSET :window
"""
"""The rowid of the ``window``-th newest match (none: fewer match): where ranking starts."""
