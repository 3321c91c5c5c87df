"""``POST /search``: a ``SearchRequest`` in, a ``SearchAnswer`` out; every error as JSON,
``{"error": {"code", "message"}}``.

- 400 ``invalid_payload``: the body is not a ``SearchRequest``;
- 400 ``invalid_query``: the query cannot be run (no text, too many terms …) or the cursor
  is not one of this search's;
- 503 ``search_timeout``: the search ran past ``query_timeout``.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import ValidationError

from records.base import describe_errors
from records.search import SearchRequest
from search.cursor import CursorInvalid
from search.index import SearchTimeout
from search.query import QueryRefused
from search.typedefs import index_key, metrics_key

routes = web.RouteTableDef()


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@routes.post("/search")
async def search(request: web.Request) -> web.Response:
    metrics = request.app[metrics_key]
    try:
        asked = SearchRequest.model_validate_json(await request.read())
    except ValidationError as exc:
        metrics.searches.labels(outcome="invalid_payload").inc()
        return error_response(400, "invalid_payload", describe_errors(exc, "body"))
    started = time.monotonic()
    try:
        answer = await asyncio.to_thread(request.app[index_key].search, asked)
    except (QueryRefused, CursorInvalid) as exc:
        metrics.searches.labels(outcome="invalid_query").inc()
        return error_response(400, "invalid_query", str(exc))
    except SearchTimeout as exc:
        metrics.searches.labels(outcome="timeout").inc()
        return error_response(503, "search_timeout", str(exc))
    metrics.search_seconds.labels(order=asked.order).observe(time.monotonic() - started)
    metrics.searches.labels(outcome="ok").inc()
    return web.Response(body=answer.model_dump_json(), content_type="application/json")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own errors (404, 405, 413 …) as JSON too."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return error_response(exc.status, code, exc.text or exc.reason)
