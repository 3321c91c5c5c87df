"""REST mirrors of the read side, for clients without a socket (``Authorization: Bearer``).

- ``GET /groups`` → ``{groups: [...]}``, the caller's groups;
- ``GET /groups/{group_id}/messages?before_seq=&limit=`` → ``{messages, next_before_seq}``,
  newest first, as the socket's ``history``;
- ``GET /search?q=&group_id=&order=&limit=&cursor=`` → ``{results, next_cursor}``, as the
  socket's ``search`` (from its own allowance, ``search``).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from gateway import client_events
from gateway.client_events import group_to_client
from gateway.commands import CommandError, HistoryCommand, SearchCommand, parse
from gateway.limits import Bucket
from gateway.revocations import is_revoked
from gateway.search import groups_to_search, read_query, search_messages
from gateway.typedefs import DIRECTORY, LIMITS, READS, REDIS, SEARCH, SETTINGS
from records.tokens import InvalidToken, TokenClaims, verify_token

routes = web.RouteTableDef()

STATUS = {"token_missing": 401, "token_invalid": 401, "token_expired": 401, "token_revoked": 401}
STATUS |= {"not_a_member": 403}
STATUS |= {"group_not_found": 404, "invalid_payload": 422, "rate_limited": 429}
STATUS |= {"unavailable": 503}

NUMBER = re.compile(r"[0-9]{1,9}")
"""A query number: ASCII digits only (``str.isdigit`` takes ``²`` and ``٣``), and short."""


def _error(exc: CommandError) -> web.Response:
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return web.json_response(
        {"error": exc.error()}, status=STATUS.get(exc.code, 400), headers=headers
    )


async def _reader(request: web.Request, bucket: Bucket = "read") -> TokenClaims:
    """The caller, once their token is checked (a revoked session is refused here as at
    connect) and a token taken from their allowance (``bucket``: reads, unless said)."""
    claims = _claims(request)
    channel = request.app[SETTINGS].revocations_channel
    if await is_revoked(request.app[REDIS], channel, claims.user_id, claims.issued_at.timestamp()):
        raise CommandError("token_revoked", "this session was revoked: sign in again")
    await request.app[LIMITS].spend(claims.user_id, bucket)
    return claims


def _claims(request: web.Request) -> TokenClaims:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise CommandError("token_missing", "an access token is required")
    try:
        return verify_token(request.app[SETTINGS], token.strip(), "access")
    except InvalidToken as exc:
        raise CommandError(exc.code, exc.message) from None


@routes.get("/groups")
async def list_groups(request: web.Request) -> web.Response:
    try:
        claims = await _reader(request)
    except CommandError as exc:
        return _error(exc)
    groups = await request.app[READS].groups_of(claims.user_id)
    return web.json_response({"groups": [group_to_client(g, claims.user_id) for g in groups]})


@routes.get("/groups/{group_id}/messages")
async def list_messages(request: web.Request) -> web.Response:
    try:
        claims = await _reader(request)
        query: dict[str, Any] = {"group_id": request.match_info["group_id"]}
        for name in ("before_seq", "limit"):
            if name in request.query:
                if not NUMBER.fullmatch(request.query[name]):
                    raise CommandError("invalid_payload", f"{name}: must be a positive integer")
                query[name] = int(request.query[name])
        command = parse(HistoryCommand, query)
        group = await request.app[READS].member_group(claims.user_id, command.group_id)
    except CommandError as exc:
        return _error(exc)
    messages, cursor = await request.app[READS].history(group, command.before_seq, command.limit)
    return web.json_response({"messages": messages, "next_before_seq": cursor})


@routes.get("/search")
async def search(request: web.Request) -> web.Response:
    """The socket's ``search``, with the same checks and refusals (``invalid_query``: 400)."""
    try:
        claims = await _reader(request, "search")
        query: dict[str, Any] = {"query": request.query.get("q", "")}
        for name in ("group_id", "order", "cursor"):
            if name in request.query:
                query[name] = request.query[name]
        if "limit" in request.query:
            if not NUMBER.fullmatch(request.query["limit"]):
                raise CommandError("invalid_payload", "limit: must be a positive integer")
            query["limit"] = int(request.query["limit"])
        command = parse(SearchCommand, query)
        searched = read_query(command.query)
        group_ids = await groups_to_search(request.app[READS], claims.user_id, command.group_id)
        answer = await search_messages(
            request.app[SEARCH], request.app[DIRECTORY], command, searched, group_ids
        )
    except CommandError as exc:
        return _error(exc)
    return web.json_response(client_events.search_results(answer))
