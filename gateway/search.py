"""Message search as the gateway runs it: the query read once (``records.search.parse_query``),
the groups the caller may read now, ``from:`` usernames found in auth, and the question put to
the search service (``POST /search``, ``records.search.SearchRequest`` → ``SearchAnswer``).

The service indexes what the log says and trusts the gateway to say whose messages may be
read: it searches only the ``group_ids`` it is given. So the gateway gives the caller's groups
as they are now, never a group they left or were removed from, and drops any hit outside them.
Whatever goes wrong between the two is ``unavailable``; a query the service cannot search (a
cursor from another query) is ``invalid_query``, in its words.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import aiohttp
from pydantic import ValidationError

from gateway.commands import CommandError, SearchCommand
from gateway.directory import UserDirectory
from gateway.readmodel import ReadModel
from gateway.settings import Settings
from records.search import QueryInvalid, SearchAnswer, SearchQuery, SearchRequest, parse_query
from records.views import Group

log = logging.getLogger(__name__)

MAX_SENDERS = 10
"""``from:`` names in one query: each is a lookup in auth before the search."""

PASSED_ON = frozenset({"invalid_query", "invalid_payload"})
"""The service's refusals a client is told as they are: what the client sent was wrong (its
cursor, say). Any other answer but 200 is the service's trouble: ``unavailable``."""


class SearchClient:
    """The search service over HTTP, on the gateway's shared session."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.url = f"{settings.search_url.rstrip('/')}/search"
        self.timeout = aiohttp.ClientTimeout(total=settings.search_timeout)
        self.session = session

    async def search(self, request: SearchRequest) -> SearchAnswer:
        """The service's answer; its refusal of the query as ``invalid_query`` (or
        ``invalid_payload``), anything else that goes wrong as ``unavailable``."""
        body = request.model_dump(mode="json")
        try:
            async with self.session.post(self.url, json=body, timeout=self.timeout) as response:
                if response.status == 200:
                    return SearchAnswer.model_validate(await response.json())
                error = await _error_of(response)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # ValueError: a 200 that is not JSON, or not an answer (pydantic's errors are one).
            log.warning("the search service did not answer: %r", exc)
            raise unavailable() from None
        if response.status == 400 and error.get("code") in PASSED_ON:
            raise CommandError(str(error["code"]), str(error.get("message") or "refused"))
        log.warning("the search service answered %s: %s", response.status, error)
        raise unavailable()


async def _error_of(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """The ``{error: {code, message}}`` of a refusal, or nothing when it is not one."""
    try:
        error = (await response.json(content_type=None)).get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def unavailable() -> CommandError:
    return CommandError("unavailable", "search is unavailable now; try again")


def read_query(text: str) -> SearchQuery:
    """The query as people typed it, read; what is wrong with it as ``invalid_query``."""
    try:
        query = parse_query(text)
    except QueryInvalid as exc:
        raise CommandError("invalid_query", str(exc)) from None
    if len(query.senders) > MAX_SENDERS:
        raise CommandError("invalid_query", f"at most {MAX_SENDERS} from: in a query")
    return query


async def sender_ids(directory: UserDirectory, usernames: Iterable[str]) -> list[str]:
    """The user ids ``from:`` names; a name no one has is ``invalid_query``."""

    async def find(username: str) -> str:
        try:
            return (await directory.find(username=username)).user_id
        except CommandError as exc:
            if exc.code != "user_not_found":
                raise
            problem = f"from:{username}: no user named {username}"
            raise CommandError("invalid_query", problem) from None

    return list(await asyncio.gather(*(find(name) for name in usernames)))


async def groups_to_search(reads: ReadModel, user_id: str, group_id: str | None) -> list[str]:
    """The group asked for, if the user is a member of it (``ReadModel.member_group``); else
    every group they are a member of. Either as it is now: once the views show every change
    of the user's memberships this node has read (and without a group whose view does not
    yet, ``_still_member``)."""
    if group_id is not None:
        group = await reads.member_group(user_id, group_id)
        if not _still_member(reads, user_id, group):
            raise CommandError("not_a_member", f"join group {group_id!r} first")
        return [group.group_id]
    await reads.caught_up_with(user_id)
    groups = await reads.groups_of(user_id)
    return [g.group_id for g in groups if _still_member(reads, user_id, g)]


def _still_member(reads: ReadModel, user_id: str, group: Group) -> bool:
    """A member in the group's view, and that view shows every change of the user's
    membership there this node knows of. One that does not yet (the views trail the log by
    more than a read waits) may not show them leaving: it is not searched."""
    known = reads.seen.changes_of(user_id).get(group.group_id, 0)
    return user_id in group.members and group.version >= known


async def search_messages(
    client: SearchClient,
    directory: UserDirectory,
    command: SearchCommand,
    query: SearchQuery,
    group_ids: list[str],
) -> SearchAnswer:
    """Ask the service for ``query`` in ``group_ids`` (the caller's, checked by the caller);
    the hits outside them, which the service should never give, are dropped."""
    senders = await sender_ids(directory, query.senders)
    if not group_ids:
        return SearchAnswer(results=[], next_cursor=None)  # a member of nothing finds nothing
    try:
        request = SearchRequest(
            query=query,
            group_ids=group_ids,
            sender_ids=senders,
            order=command.order,
            limit=command.limit,
            cursor=command.cursor,
        )
    except ValidationError:
        raise CommandError("invalid_payload", "the search cannot be asked as it is") from None
    answer = await client.search(request)
    allowed = set(group_ids)
    if any(hit.group_id not in allowed for hit in answer.results):
        log.error("the search service answered with messages of groups it was not asked about")
        results = [hit for hit in answer.results if hit.group_id in allowed]
        answer = SearchAnswer(results=results, next_cursor=answer.next_cursor)
    return answer
