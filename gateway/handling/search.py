"""Handler of ``search``: the caller's messages that match a query, in the groups they are a
member of now (``gateway.search``: the query read, the groups, the search service asked)."""

from __future__ import annotations

from typing import Any

from gateway import client_events
from gateway.commands import SearchCommand, parse
from gateway.handling.namespace import ChatNamespace, Reply, handles
from gateway.search import groups_to_search, read_query, search_messages


# Searches cost the search service far more than a read costs the views: a bucket of their
# own, small, so they never spend the allowance history and joins need.
@handles("search", bucket="search")
async def search(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
    """Found messages, newest first or best first, a page at a time (``next_cursor``)."""
    command = parse(SearchCommand, data)
    query = read_query(command.query)
    user = await ns.get_session(sid)
    group_ids = await groups_to_search(ns.reads, user["user_id"], command.group_id)
    answer = await search_messages(ns.search, ns.directory, command, query, group_ids)
    return {"ok": True, **client_events.search_results(answer)}
