"""Tantivy (PyPI ``tantivy``, its Python bindings) as a second engine for the comparison
benchmark ``tests.benchmarks.search_engines``: the same ``MessageSaved`` facts indexed in
rounds, the same ``SearchRequest`` asked, a ``SearchAnswer`` returned, so both engines are
timed doing the same work (the page built, highlights included).

Not a dependency of the project: the benchmark installs it into the running interpreter's
environment when it cannot import it (``search_engines.ensure_tantivy``), before importing this.

What the request becomes (``TantivyIndex.query``): every part a ``Must`` clause of one boolean
query. Words and phrases are analyzed here, by the index's own analyzer, because tantivy-py's
term and phrase queries take terms as indexed (they do not tokenize). A prefix of one word is a
regex query (``stem.*``) over the body's terms: every term it begins, as FTS5's ``"stem" *``.
The caller's groups and ``from:``'s senders are term set queries on raw fields, the days a
range over the ``saved_at`` fast field; all three scored 0, so BM25 ranks the text alone.
The groups' filter is tantivy's floor: it marks every message of the caller's groups in each
segment before the text is intersected with it (at 200,000 messages, a rare word in 100 groups
took 1.0 ms, the word alone 0.02 ms); a boolean of 100 term queries, the other way tantivy-py
offers, took 2.2 ms.

Where it cannot say what FTS5 says:
- a prefix after other words (``"see yo" *`` in FTS5) is tantivy's phrase prefix query,
  which expands the last word to its first 50 terms only (``max_expansions``, not settable
  from Python); the benchmark's prefixes are single words, so it is not exercised;
- highlights of a prefix: the snippet generator highlights a query's terms, and a regex query
  names none, so prefix hits carry no highlights (FTS5 marks them);
- a phrase's highlights are its words wherever they are, not the phrase alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import tantivy

from records.facts import MessageSaved
from records.search import SearchAnswer, SearchHit, SearchQuery, SearchRequest
from records.views import iso
from search.documents import millis, moment
from search.query import day_start

ANALYZER = "folded"
"""The body's analyzer, registered on the index by name (tantivy-py has no built-in one that
folds accents)."""
WRITER_HEAP = 128_000_000
WRITER_THREADS = 1
"""One indexing thread, as the service has one writer: the build rate compares like with like
(tantivy's merges still run in background threads, on the other core)."""
SNIPPET_CHARS = 10_000
"""Longer than any body: the snippet is the whole body, so its ranges are the body's."""
FIRST, LAST = -(2**63), 2**63 - 1
FOLDING = hasattr(tantivy.Filter, "ascii_fold")
"""Whether this tantivy-py can fold accents (``Filter.ascii_fold``): the benchmark says so if
not, since the "accents folded" kind then finds nothing."""


def folding_analyzer() -> tantivy.TextAnalyzer:
    """Split at anything not a letter or digit, lowercase, fold accents to ASCII: what FTS5's
    ``unicode61 remove_diacritics 2`` does to the chat's words (``Café`` → ``cafe``)."""
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(
        tantivy.Filter.lowercase()
    )
    if FOLDING:
        builder = builder.filter(tantivy.Filter.ascii_fold())
    return builder.build()


def message_schema() -> tantivy.Schema:
    """The body analyzed with positions (phrases, BM25), stored for the hit and its snippet;
    ids as raw terms (a group or sender filter is a term lookup; a message's id is how an
    edit or delete would find it); ``saved_at`` in milliseconds, a fast field (newest first,
    day ranges); the rest stored only for the hit."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=True, tokenizer_name=ANALYZER)
    for name in ("message_id", "group_id", "sender_id"):
        builder.add_text_field(name, stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("sender", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("saved_at", stored=True, fast=True)
    builder.add_integer_field("seq", stored=True)
    return builder.build()


class TantivyIndex:
    """A tantivy index in a directory, created empty, written in rounds, then searched."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.schema = message_schema()
        self.analyzer = folding_analyzer()
        self.index = tantivy.Index(self.schema, path=str(path), reuse=False)
        self.index.register_tokenizer(ANALYZER, self.analyzer)
        self._writer: tantivy.IndexWriter | None = self.index.writer(
            heap_size=WRITER_HEAP, num_threads=WRITER_THREADS
        )

    # --- writing ----------------------------------------------------------------------------

    def add(self, facts: Sequence[MessageSaved]) -> None:
        """A round of messages, committed: searchable and durable, as the follower's
        transaction makes a round of FTS5's."""
        if self._writer is None:
            raise RuntimeError("the index is settled: no more writes")
        for fact in facts:
            doc = tantivy.Document()
            doc.add_text("body", fact.body)
            doc.add_text("message_id", fact.message_id)
            doc.add_text("group_id", fact.group_id)
            doc.add_text("sender_id", fact.sender_id)
            doc.add_text("sender", fact.sender)
            doc.add_integer("saved_at", millis(fact.saved_at))
            doc.add_integer("seq", fact.seq)
            self._writer.add_document(doc)
        self._writer.commit()

    def settle(self) -> None:
        """Wait for the segments' merges to end and drop the files they replaced, so searches
        and the size on disk see the index as it stays (the writer is done with)."""
        if self._writer is None:
            return
        self._writer.wait_merging_threads()  # (consumes the writer)
        self._writer = None
        collector = self.index.writer(heap_size=15_000_000, num_threads=1)
        collector.garbage_collect_files()
        collector.wait_merging_threads()  # (releases the index's lock)
        self.index.reload()

    def segments(self) -> int:
        """Segments searched: the rounds' commits, as far as the merge policy merged them."""
        return self.index.searcher().num_segments

    def disk_bytes(self) -> int:
        return sum(file.stat().st_size for file in self.path.iterdir() if file.is_file())

    # --- reading ----------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchAnswer:
        """The request's first page: newest first by the ``saved_at`` fast field, or BM25's
        top ``limit`` over every match in the caller's groups (no cursor: the benchmark
        times first pages)."""
        if not request.group_ids or (request.query.senders and not request.sender_ids):
            return SearchAnswer(results=[])  # no group, or from: names nobody (as FTS5's)
        text = self.text_query(request.query)
        searcher = self.index.searcher()
        if request.order == "newest":
            found = searcher.search(
                self.query(request, text),
                request.limit,
                count=False,
                order_by_field="saved_at",
                order=tantivy.Order.Desc,
            )
        else:
            found = searcher.search(self.query(request, text), request.limit, count=False)
        snippets = tantivy.SnippetGenerator.create(searcher, text, self.schema, "body")
        snippets.set_max_num_chars(SNIPPET_CHARS)
        hits = [self._hit(searcher.doc(address), snippets) for _, address in found.hits]
        return SearchAnswer(results=hits)

    def query(self, request: SearchRequest, text: tantivy.Query) -> tantivy.Query:
        """The text, in the caller's groups (from the senders ``from:`` names, in the days
        asked), the filters scored 0."""
        Query = tantivy.Query
        wanted = [Query.term_set_query(self.schema, "group_id", sorted(set(request.group_ids)))]
        if request.sender_ids:
            wanted.append(Query.term_set_query(self.schema, "sender_id", request.sender_ids))
        q = request.query
        if q.after or q.before:
            low = day_start(q.after + timedelta(days=1)) if q.after else FIRST
            high = day_start(q.before) - 1 if q.before else LAST
            wanted.append(
                Query.range_query(self.schema, "saved_at", tantivy.FieldType.Integer, low, high)
            )
        clauses = [(tantivy.Occur.Must, text)]
        clauses += [(tantivy.Occur.Must, Query.const_score_query(f, 0.0)) for f in wanted]
        return Query.boolean_query(clauses)

    def text_query(self, query: SearchQuery) -> tantivy.Query:
        """Every word, phrase and prefix must hold (ANDed, as FTS5's expression)."""
        parts = [self._terms(text) for text in [*query.words, *query.phrases]]
        parts += [self._prefix(stem) for stem in query.prefixes]
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, part) for part in parts])

    def _terms(self, text: str) -> tantivy.Query:
        """A word or a phrase: its terms in order (a word the analyzer splits, ``e-mail``, is a
        phrase, as in FTS5)."""
        terms = self.analyzer.analyze(text)
        if not terms:
            return tantivy.Query.empty_query()
        if len(terms) == 1:
            return tantivy.Query.term_query(self.schema, "body", terms[0])
        return tantivy.Query.phrase_query(self.schema, "body", list(terms))

    def _prefix(self, stem: str) -> tantivy.Query:
        terms = self.analyzer.analyze(stem)
        if not terms:
            return tantivy.Query.empty_query()
        if len(terms) == 1:
            # Every term the stem begins: the terms are letters and digits alone (the
            # analyzer's), so the escaped stem is the regex's only literal part.
            return tantivy.Query.regex_query(self.schema, "body", re.escape(terms[0]) + ".*")
        return tantivy.Query.phrase_prefix_query(self.schema, "body", list(terms))

    def _hit(self, doc: tantivy.Document, snippets: tantivy.SnippetGenerator) -> SearchHit:
        stored = doc.to_dict()  # (each field a list of its values: one here)
        body: str = stored["body"][0]
        return SearchHit(
            group_id=stored["group_id"][0],
            message_id=stored["message_id"][0],
            seq=stored["seq"][0],
            sender_id=stored["sender_id"][0],
            sender=stored["sender"][0],
            body=body,
            saved_at=iso(moment(stored["saved_at"][0])),
            highlights=highlights(body, snippets.snippet_from_doc(doc)),
        )


def highlights(body: str, snippet: tantivy.Snippet) -> list[tuple[int, int]]:
    """The snippet's ranges (bytes of UTF-8, in the fragment) as ``[start, end)`` character
    offsets into the body, as ``SearchHit`` gives them."""
    fragment = snippet.fragment()
    start = max(0, body.find(fragment))
    encoded = fragment.encode()

    def chars(at: int) -> int:
        return start + len(encoded[:at].decode(errors="ignore"))

    return [(chars(r.start), chars(r.end)) for r in snippet.highlighted()]
