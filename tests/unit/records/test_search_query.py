"""The query language as people type it, read once by the gateway into a ``SearchQuery``."""

from __future__ import annotations

from datetime import date

import pytest

from records.search import MAX_TERMS, QueryInvalid, SearchQuery, parse_query


def test_words() -> None:
    assert parse_query("deploy  Friday ") == SearchQuery(words=["deploy", "Friday"])


def test_a_phrase_keeps_its_words_in_order_with_single_spaces() -> None:
    assert parse_query('"the  release\tnotes"') == SearchQuery(phrases=["the release notes"])


def test_a_prefix_is_kept_without_its_star() -> None:
    assert parse_query("deplo*") == SearchQuery(prefixes=["deplo"])
    assert parse_query("de**") == SearchQuery(prefixes=["de"])


def test_from_names_usernames_each_once_in_any_case() -> None:
    query = parse_query("lunch from:ann FROM:Ann from:bob.smith")
    assert query == SearchQuery(words=["lunch"], senders=["ann", "bob.smith"])


def test_before_and_after_are_days() -> None:
    query = parse_query("report after:2026-03-01 before:2026-04-01")
    assert query.after == date(2026, 3, 1) and query.before == date(2026, 4, 1)
    assert query.words == ["report"]


def test_everything_combined() -> None:
    query = parse_query('from:ann "go live" deplo* Friday before:2026-12-01 after:2026-11-01')
    assert query == SearchQuery(
        words=["Friday"],
        phrases=["go live"],
        prefixes=["deplo"],
        senders=["ann"],
        before=date(2026, 12, 1),
        after=date(2026, 11, 1),
    )
    assert query.text_parts == 3


def test_operators_around_words_are_dropped_not_searched() -> None:
    assert parse_query('cafe "" : -') == SearchQuery(words=["cafe"])


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "at least one word"),
        ("   ", "at least one word"),
        ("a" * 10_000, "characters"),
        ('"unbalanced', "quote"),
        ('one "two" "three', "quote"),
        ("from: lunch", "username"),
        ("from:a/b lunch", "username"),
        ("from:" + "a" * 33 + " lunch", "username"),
        ("report before:2026-13-01", "day"),
        ("report after:2026-02-30", "day"),
        ("report after:yesterday", "day"),
        ("report before:2026-03-01 before:2026-03-02", "twice"),
        ('* "" :', "prefix"),
        ('"" :', "at least one word"),
        ("from:ann before:2026-01-01", "at least one word"),
        ("hello\x07there", "control"),
        ("hello\x85", "control"),
        ("d*", "prefix"),
        ("-x*", "prefix"),
        ("report after:2026-03-02 before:2026-03-02", "after"),
        ("report after:2026-03-03 before:2026-03-02", "after"),
        (" ".join(f"w{n}" for n in range(MAX_TERMS + 1)), "at most"),
    ],
)
def test_refused(text: str, says: str) -> None:
    with pytest.raises(QueryInvalid, match=says):
        parse_query(text)
