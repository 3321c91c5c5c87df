"""Message search, the contract between the gateway and the search service.

The query language people type (``parse_query``), read once, by the gateway, into a
``SearchQuery``: words, ``"a phrase"``, a prefix (``deplo*``), ``from:username``,
``before:2026-12-01`` / ``after:2026-12-01``, combined (every part must hold). The gateway
adds what only it knows — who the caller may read (``group_ids``: their groups now) and who
``from:`` names (``sender_ids``) — and asks the search service with a ``SearchRequest``; the
service answers ``SearchAnswer``. The service never reads a query string: what reaches its
engine is built from these fields, each term quoted, so no query can say more than they do.

How words match (any case, any accent) is the engine's analyzer's, not this module's.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from records.base import GroupId, UserId

MAX_QUERY_CHARS = 500
MAX_TERMS = 20
"""Words, phrases and prefixes in one query, together."""
MIN_PREFIX_CHARS = 2
MAX_RESULTS = 50
DEFAULT_RESULTS = 20

Order = Literal["newest", "relevance"]

_TOKEN = re.compile(r'"(?P<phrase>[^"]*)"|(?P<word>[^\s"]+)')
_FILTER = re.compile(r"^(?P<name>from|before|after):(?P<value>.*)$", re.IGNORECASE)
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WORD_CHARACTER = re.compile(r"\w")


class QueryInvalid(ValueError):
    """A query that cannot be searched, with a message saying what is wrong, for people."""


class SearchQuery(BaseModel):
    """A query as the gateway read it: every part must hold for a message to be found."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    words: list[str] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    prefixes: list[str] = Field(default_factory=list)
    """Word beginnings, without the ``*``."""
    senders: list[str] = Field(default_factory=list)
    """Usernames named by ``from:`` (any of them)."""
    before: date | None = None
    """Messages saved before this day (UTC) began."""
    after: date | None = None
    """Messages saved after this day (UTC) ended."""

    @property
    def text_parts(self) -> int:
        return len(self.words) + len(self.phrases) + len(self.prefixes)


def parse_query(text: str) -> SearchQuery:
    """Read a query as people type it; ``QueryInvalid`` says what is wrong with it."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryInvalid(f"the query has {len(text)} characters; at most {MAX_QUERY_CHARS}")
    if _CONTROL.search(text):
        raise QueryInvalid("the query has control characters")
    if text.count('"') % 2:
        raise QueryInvalid('a quote is not closed: put the phrase between two "')
    words: list[str] = []
    phrases: list[str] = []
    prefixes: list[str] = []
    senders: list[str] = []
    days: dict[str, date] = {}
    for token in _TOKEN.finditer(text):
        if (phrase := token.group("phrase")) is not None:
            if _WORD_CHARACTER.search(phrase):
                phrases.append(" ".join(phrase.split()))
            continue
        word = token.group("word")
        if (found := _FILTER.match(word)) is not None:
            _read_filter(found.group("name").casefold(), found.group("value"), senders, days)
        elif word.endswith("*"):
            stem = word.rstrip("*")
            if len(_WORD_CHARACTER.findall(stem)) < MIN_PREFIX_CHARS:
                raise QueryInvalid(
                    f"{word!r}: a prefix needs at least {MIN_PREFIX_CHARS} letters before the *"
                )
            prefixes.append(stem)
        elif _WORD_CHARACTER.search(word):
            words.append(word)
    query = SearchQuery(
        words=words,
        phrases=phrases,
        prefixes=prefixes,
        senders=senders,
        before=days.get("before"),
        after=days.get("after"),
    )
    if query.text_parts == 0:
        raise QueryInvalid("give at least one word to search for")
    if query.text_parts > MAX_TERMS:
        raise QueryInvalid(f"at most {MAX_TERMS} words, phrases and prefixes in a query")
    if query.before and query.after and query.after >= query.before:
        raise QueryInvalid("after: must be a day before before:")
    return query


def _read_filter(name: str, value: str, senders: list[str], days: dict[str, date]) -> None:
    if name == "from":
        if not _USERNAME.match(value):
            raise QueryInvalid(f"from:{value}: give a username, as from:alice")
        if value.casefold() not in (s.casefold() for s in senders):
            senders.append(value)
        return
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise QueryInvalid(f"{name}:{value}: give a day as {name}:2026-12-01") from None
    if name in days and days[name] != day:
        raise QueryInvalid(f"{name}: is given twice")
    days[name] = day


class SearchRequest(BaseModel):
    """What the gateway asks the search service: the query, and what the caller may read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    query: SearchQuery
    group_ids: list[GroupId] = Field(max_length=100_000)
    """The groups searched: the caller's, as they are now (or the one asked for)."""
    sender_ids: list[UserId] = Field(default_factory=list)
    """The users ``from:`` names, found by the gateway (empty: anyone)."""
    order: Order = "newest"
    limit: int = Field(default=DEFAULT_RESULTS, ge=1, le=MAX_RESULTS)
    cursor: Annotated[str, StringConstraints(max_length=512)] | None = None


class SearchHit(BaseModel):
    """A message found: where it is, what it says now, and which parts matched."""

    model_config = ConfigDict(frozen=True)

    group_id: str
    message_id: str
    seq: int
    sender_id: str
    sender: str
    body: str
    saved_at: str
    """ISO 8601 in UTC, as every time clients get."""
    edited_at: str | None = None
    highlights: list[tuple[int, int]] = Field(default_factory=list)
    """``[start, end)`` character offsets into ``body`` of each part that matched."""


class SearchAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    results: list[SearchHit]
    next_cursor: str | None = None
