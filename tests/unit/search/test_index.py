"""The message index on a real SQLite file: what is found, in which order, page by page, with
which highlights, and what edits, deletes and the same facts applied twice do to it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from records.facts import Fact, MessageDeleted, MessageEdited, MessageSaved
from records.sealing import new_key, seal, unseal
from records.search import SearchAnswer, SearchQuery, SearchRequest, parse_query
from search import pages
from search.cursor import CursorInvalid
from search.index import IndexInUse, MessageIndex
from search.query import MAX_SCOPE_TOKENS

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def saved(
    seq: int, body: str, *, group: str = "g1", sender: str = "ann", at: datetime | None = None
) -> MessageSaved:
    return MessageSaved(
        message_id=f"{group}:{seq}", group_id=group, seq=seq, sender_id=sender,
        sender=sender.title(), client_msg_id=f"c{seq}", body=body,
        saved_at=at or T0 + timedelta(seconds=seq),
    )  # fmt: skip


def edited(seq: int, body: str, change: int, *, group: str = "g1") -> MessageEdited:
    return MessageEdited(
        group_id=group, message_id=f"{group}:{seq}", seq=seq, body=body, by_id="ann",
        change=change, occurred_at=T0 + timedelta(hours=1, seconds=change),
    )  # fmt: skip


def deleted(seq: int, change: int, *, group: str = "g1") -> MessageDeleted:
    return MessageDeleted(
        group_id=group, message_id=f"{group}:{seq}", seq=seq, by_id="ann", change=change
    )


@pytest.fixture
def index(tmp_path: Path) -> Iterator[MessageIndex]:
    opened = MessageIndex(tmp_path / "search" / "messages.sqlite3", readers=2)
    opened.open()
    yield opened
    opened.close()


@pytest.fixture(params=["text first", "scoped", "row by row"])
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every way a search runs (``search.pages``): the text's newest matches looked through
    first; or (none looked through) the engine keeping the groups itself, or the text's
    matches kept row by row (a text few messages hold)."""
    if request.param != "text first":
        monkeypatch.setattr(pages, "CANDIDATES_SCANNED", 1)
        monkeypatch.setattr(pages, "WINDOW_SCANNED", 0)
        monkeypatch.setattr(pages, "FEW_MATCHES", -1 if request.param == "scoped" else 10**9)
    return str(request.param)


def apply(index: MessageIndex, *facts: Fact) -> None:
    positions, _ = index.positions()
    index.apply(list(facts), {0: positions.get(0, 0) + len(facts)})


def ask(
    index: MessageIndex, text: str, groups: tuple[str, ...] = ("g1",), **more: Any
) -> SearchAnswer:
    query = parse_query(text)
    return index.search(SearchRequest(query=query, group_ids=list(groups), **more))


def found(answer: SearchAnswer) -> list[str]:
    return [hit.message_id for hit in answer.results]


def test_a_word_is_found_in_any_case_and_with_or_without_accents(index: MessageIndex) -> None:
    apply(index, saved(1, "Un Café crème"), saved(2, "cafe noir"), saved(3, "thé"))
    for text in ("cafe", "CAFÉ", "Café", "cafÉ"):
        assert found(ask(index, text)) == ["g1:2", "g1:1"], text
    assert found(ask(index, "THE")) == ["g1:3"]


def test_a_phrase_is_its_words_in_order_and_every_part_must_hold(index: MessageIndex) -> None:
    apply(index, saved(1, "deploy the service"), saved(2, "the service will deploy"))
    assert found(ask(index, '"deploy the service"')) == ["g1:1"]
    assert found(ask(index, "service deploy")) == ["g1:2", "g1:1"]
    assert found(ask(index, "service deploy nowhere")) == []


def test_a_prefix_finds_every_word_it_begins(index: MessageIndex) -> None:
    apply(index, saved(1, "deployment done"), saved(2, "Déployé hier"), saved(3, "redeploy"))
    assert found(ask(index, "deplo*")) == ["g1:2", "g1:1"]
    assert found(ask(index, "de*")) == ["g1:2", "g1:1"], "two letters, the shortest prefix"


def test_from_keeps_the_senders_the_gateway_found(index: MessageIndex, plan: str) -> None:
    apply(index, saved(1, "lunch?", sender="ann"), saved(2, "lunch!", sender="bob"))
    assert found(ask(index, "from:bob lunch", sender_ids=["bob"])) == ["g1:2"]
    assert found(ask(index, "lunch", sender_ids=["ann", "bob"])) == ["g1:2", "g1:1"]
    assert found(ask(index, "from:nobody lunch")) == [], "from: names nobody the gateway knows"


def test_before_and_after_are_whole_days_in_utc(index: MessageIndex, plan: str) -> None:
    days = [datetime(2026, 3, d, hour, tzinfo=UTC) for d, hour in ((1, 23), (2, 0), (3, 0))]
    apply(index, *(saved(n, "report", at=day) for n, day in enumerate(days, 1)))
    assert found(ask(index, "report after:2026-03-01")) == ["g1:3", "g1:2"]
    assert found(ask(index, "report before:2026-03-02")) == ["g1:1"]
    assert found(ask(index, "report after:2026-03-01 before:2026-03-03")) == ["g1:2"]


def test_a_group_not_listed_is_never_searched(index: MessageIndex, plan: str) -> None:
    apply(index, saved(1, "secret plan", group="g1"), saved(1, "secret plan", group="g2"))
    assert found(ask(index, "secret", ("g1",))) == ["g1:1"]
    assert found(ask(index, "secret", ("g2", "g3"))) == ["g2:1"]
    assert found(ask(index, "secret", ())) == []
    many = tuple(f"other{n}" for n in range(MAX_SCOPE_TOKENS + 1))
    assert found(ask(index, "secret", ("g1", *many))) == ["g1:1"], "filtered by the join alone"


def test_newest_first_is_by_saved_at_whatever_order_they_came_in(
    index: MessageIndex, plan: str
) -> None:
    apply(index, saved(2, "standup", at=T0 + timedelta(minutes=2)))
    apply(index, saved(1, "standup", at=T0 + timedelta(minutes=1)), saved(3, "standup"))
    same_moment = [saved(n, "standup", at=T0 + timedelta(days=1)) for n in (4, 5)]
    apply(index, *same_moment)
    assert found(ask(index, "standup")) == ["g1:5", "g1:4", "g1:2", "g1:1", "g1:3"]


def test_relevance_puts_the_best_match_first(index: MessageIndex, plan: str) -> None:
    apply(
        index,
        saved(1, "lunch lunch lunch"),
        saved(2, "we could have lunch after the long meeting about the budget review"),
    )
    assert found(ask(index, "lunch", order="relevance")) == ["g1:1", "g1:2"]
    assert found(ask(index, "lunch", order="newest")) == ["g1:2", "g1:1"]


@pytest.mark.parametrize("order", ["newest", "relevance"])
def test_pages_follow_each_other_without_repeats_or_gaps(
    index: MessageIndex, order: str, plan: str
) -> None:
    apply(index, *(saved(n, "standup " + "notes " * (n % 7)) for n in range(1, 46)))
    seen: list[str] = []
    cursor, pages = None, 0
    while True:
        answer = ask(index, "standup", order=order, limit=20, cursor=cursor)
        seen += found(answer)
        pages += 1
        if (cursor := answer.next_cursor) is None:
            break
        apply(index, saved(100 + pages, "standup too late"))  # saved meanwhile: not in these pages
    assert pages == 3 and len(seen) == 45
    assert sorted(seen) == sorted(f"g1:{n}" for n in range(1, 46))


def test_relevance_ranks_window_after_window_until_every_match_is_given(
    tmp_path: Path, plan: str
) -> None:
    index = MessageIndex(tmp_path / "messages.sqlite3", relevance_window=5)
    index.open()
    try:
        apply(index, *(saved(n, "standup" + " notes" * (n % 4)) for n in range(1, 24)))
        apply(index, *(saved(n, "standup", group="g2") for n in range(1, 30)))
        given: list[list[str]] = []
        cursor = None
        while True:
            answer = ask(index, "standup", order="relevance", limit=4, cursor=cursor)
            given.append(found(answer))
            if (cursor := answer.next_cursor) is None:
                break
        everything = [message_id for page in given for message_id in page]
        assert sorted(everything) == sorted(f"g1:{n}" for n in range(1, 24))
        assert len(everything) == 23 and len(given) == 6
        newest_five = [f"g1:{n}" for n in range(19, 24)]
        assert sorted(everything[:5]) == sorted(newest_five), "the newest window first"
        assert everything[:3] == ["g1:20", "g1:21", "g1:22"], "the best of it first (shortest)"
    finally:
        index.close()


def test_a_cursor_is_refused_with_another_search(index: MessageIndex) -> None:
    apply(index, *(saved(n, "standup lunch") for n in range(1, 4)))
    cursor = ask(index, "standup", limit=1).next_cursor
    assert cursor is not None
    assert found(ask(index, "standup", limit=1, cursor=cursor)) == ["g1:2"]
    others: list[tuple[str, dict[str, Any]]] = [
        ("lunch", {}),
        ("standup", {"order": "relevance"}),
        ("standup", {"groups": ("g1", "g2")}),
        ("standup from:ann", {"sender_ids": ["ann"]}),
    ]
    for text, more in others:
        with pytest.raises(CursorInvalid):
            ask(index, text, cursor=cursor, **more)
    for forged in ("not-base64!", "eyJmIjoxfQ", cursor[:-3]):
        with pytest.raises(CursorInvalid):
            ask(index, "standup", cursor=forged)


def highlighted(index: MessageIndex, text: str) -> list[str]:
    [hit] = ask(index, text).results
    return [hit.body[start:end] for start, end in hit.highlights]


def test_highlights_are_character_offsets_into_the_body(index: MessageIndex) -> None:
    apply(index, saved(1, "Ünïcødé 😀 — Café au lait, puis CAFE \x00\x01\x02 et déploiement"))
    [hit] = ask(index, "cafe").results
    assert hit.highlights == [(12, 16), (31, 35)]
    assert highlighted(index, "cafe") == ["Café", "CAFE"]
    assert highlighted(index, '"au lait"') == ["au lait"]
    assert highlighted(index, "deplo*") == ["déploiement"]
    assert "\x00\x01\x02" in hit.body, "the body as written, its control characters with it"


def test_an_edit_replaces_the_text_found(index: MessageIndex) -> None:
    apply(index, saved(1, "meet at noon"))
    apply(index, edited(1, "meet at five", change=1))
    assert found(ask(index, "noon")) == []
    [hit] = ask(index, "five").results
    assert hit.body == "meet at five" and hit.edited_at == "2026-03-01T13:00:01Z"
    apply(index, edited(1, "meet at three", change=3), edited(1, "meet at two", change=2))
    assert highlighted(index, "meet") == ["meet"] and found(ask(index, "two")) == []
    assert found(ask(index, "three")) == ["g1:1"], "an older change never overwrites a newer one"


def test_a_delete_removes_the_message(index: MessageIndex) -> None:
    apply(index, saved(1, "the launch code"), saved(2, "launch party"))
    apply(index, edited(1, "the launch codes", change=1), deleted(1, change=2))
    assert found(ask(index, "launch")) == ["g1:2"]
    assert found(ask(index, "codes")) == [] and found(ask(index, "code")) == []
    apply(index, saved(1, "the launch code"), edited(1, "again", change=1))
    assert found(ask(index, "code")) == [] and found(ask(index, "again")) == []


def contents(index: MessageIndex) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(index.path)
    try:
        db.execute("INSERT INTO message_text (message_text) VALUES ('integrity-check')")
        return db.execute("SELECT * FROM messages ORDER BY id").fetchall()
    finally:
        db.close()


def test_the_same_facts_applied_twice_change_nothing(index: MessageIndex) -> None:
    stretch: list[Fact] = [
        saved(1, "first words"),
        saved(2, "second words"),
        edited(1, "first words, edited", change=1),
        deleted(2, change=2),
        saved(3, "third words"),
    ]
    index.apply(stretch, {0: 5})
    once = contents(index)
    index.apply(stretch, {0: 5})
    index.apply(stretch[2:], {0: 5})
    assert contents(index) == once  # (and the FTS index agrees with them: integrity-check)
    assert found(ask(index, "words")) == ["g1:3", "g1:1"]


def test_a_message_whose_key_is_gone_is_not_indexed(index: MessageIndex) -> None:
    sealed = seal(saved(1, "deleted before it was read"), new_key(), key_no=1)
    erased = unseal(sealed, None)
    assert erased.erased
    apply(index, erased, saved(2, "read normally"))
    assert found(ask(index, "read")) == ["g1:2"]


def test_positions_are_recorded_with_the_writes_they_cover(
    index: MessageIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    index.apply([saved(1, "kept")], {0: 8, 1: 3}, {0: 2, 1: 5})
    assert index.positions() == ({0: 8, 1: 3}, {0: 2, 1: 5})

    def fail(*_: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(index, "_write", fail)
    with pytest.raises(RuntimeError):
        index.apply([saved(2, "lost")], {0: 9}, {0: 3})
    monkeypatch.undo()
    assert index.positions() == ({0: 8, 1: 3}, {0: 2, 1: 5}), "neither the writes nor positions"
    index.close()
    index.open()
    assert index.positions() == ({0: 8, 1: 3}, {0: 2, 1: 5})
    assert found(ask(index, "kept")) == ["g1:1"]


def files_hold(index: MessageIndex, word: bytes) -> bool:
    paths = [index.path.with_name(index.path.name + suffix) for suffix in ("", "-wal")]
    return any(word in path.read_bytes() for path in paths if path.exists())


def test_a_purge_leaves_no_trace_of_a_deleted_message_in_the_files(index: MessageIndex) -> None:
    apply(index, saved(1, "xylophonist zanzibar"), saved(2, "zanzibar trip"))
    apply(index, saved(3, "later"))
    assert index.purge_owed_since() is None
    apply(index, deleted(1, change=1))
    assert found(ask(index, "xylophonist")) == []
    assert index.purge_owed_since() is not None
    assert files_hold(index, b"xylophonist"), "its words wait in an older segment"
    assert index.purge()
    assert not files_hold(index, b"xylophonist")
    assert index.purge_owed_since() is None
    assert found(ask(index, "zanzibar")) == ["g1:2"]


def test_terms_reach_the_engine_as_strings_never_as_syntax(index: MessageIndex) -> None:
    apply(index, saved(1, "alpha beta"), saved(2, "gamma"))
    query = SearchQuery(words=['alpha" OR "gamma', "NOT", "beta)*"])
    answer = index.search(SearchRequest(query=query, group_ids=["g1"]))
    assert found(answer) == []
    query = SearchQuery(phrases=['alpha" OR gamma "x'])
    assert found(index.search(SearchRequest(query=query, group_ids=["g1"]))) == []


def test_a_second_process_cannot_open_the_index(index: MessageIndex) -> None:
    with pytest.raises(IndexInUse):
        MessageIndex(index.path).open()


def test_a_word_only_others_use_finds_nothing_in_any_order(index: MessageIndex, plan: str) -> None:
    apply(index, *(saved(n, "deploy friday", group="g2") for n in range(1, 40)))
    apply(index, saved(1, "lunch"), saved(2, "deploy monday"))
    for order in ("newest", "relevance"):
        assert found(ask(index, "friday", order=order)) == []
        assert found(ask(index, "deploy", order=order)) == ["g1:2"]
        assert found(ask(index, "deploy", ("g1", "g2"), order=order, limit=50)) != []
