"""The MATCH expression is built from the query's fields only, each term an FTS5 string; a
query the gateway could not have sent is refused."""

from __future__ import annotations

import pytest

from records.search import SearchQuery, SearchRequest, parse_query
from search.query import MAX_SCOPE_TOKENS, QueryRefused, Search, text_expression


def test_every_part_is_quoted_and_anded_in_the_body_column() -> None:
    query = parse_query('Café "au lait" deplo* from:ann')
    assert text_expression(query) == 'body : ("Café" AND "au lait" AND "deplo" *)'


def test_a_quote_inside_a_term_is_doubled() -> None:
    query = SearchQuery(words=['a"b'], prefixes=['x"y'])
    assert text_expression(query) == 'body : ("a""b" AND "x""y" *)'


def test_the_groups_or_senders_are_tokens_of_the_scope_column_while_few() -> None:
    request = SearchRequest(query=parse_query("hi"), group_ids=["g2", "g1"])
    plan = Search.of(request)
    assert plan.text == 'body : ("hi")'
    assert plan.scoped == 'body : ("hi") AND scope : ("g6731" OR "g6732")'
    assert not plan.by_sender
    many = [f"g{n}" for n in range(MAX_SCOPE_TOKENS + 1)]
    assert Search.of(SearchRequest(query=parse_query("hi"), group_ids=many)).scoped == plan.text


def test_from_names_the_senders_alone_the_join_keeping_the_groups() -> None:
    request = SearchRequest(query=parse_query("hi"), group_ids=["g2", "g1"], sender_ids=["u"])
    plan = Search.of(request)
    assert plan.scoped == 'body : ("hi") AND scope : ("u75")'
    assert plan.by_sender and plan.groups == '["g1","g2"]'


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery(),
        SearchQuery(senders=["ann"]),
        SearchQuery(words=[f"w{n}" for n in range(21)]),
        SearchQuery(words=["a\x00b"]),
        SearchQuery(phrases=["x" * 501]),
        SearchQuery(prefixes=["a"]),
        SearchQuery(prefixes=["-*"]),
    ],
)
def test_a_query_the_gateway_could_not_have_sent_is_refused(query: SearchQuery) -> None:
    with pytest.raises(QueryRefused):
        text_expression(query)
