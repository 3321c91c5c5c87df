"""Every error leaves the service as JSON: ``{"error": {"code", "message"[, "fields"]}}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pymongo.errors import ConnectionFailure

from auth.passwords import PasswordsBusy

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}
# Headers of aiohttp's own HTTP errors that still mean something on a JSON response.
_KEPT_HEADERS = ("Allow", "WWW-Authenticate")


class ApiError(Exception):
    """An error the client caused or must handle, with a stable ``code``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: Mapping[str, Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    fields: Mapping[str, Sequence[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = {name: list(problems) for name, problems in fields.items()}
    return web.json_response({"error": error}, status=status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn ``ApiError``, aiohttp's HTTP errors and anything unexpected into JSON."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(
            exc.status, exc.code, exc.message, fields=exc.fields, headers=exc.headers
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {name: exc.headers[name] for name in _KEPT_HEADERS if name in exc.headers}
        code = _HTTP_CODES.get(exc.status, "server_error" if exc.status >= 500 else "http_error")
        return error_response(exc.status, code, exc.reason.lower(), headers=headers)
    except PasswordsBusy:
        log.warning("password hashing is saturated; refusing %s %s", request.method, request.path)
        return error_response(
            503, "busy", "too many sign-ins at once; try again", headers={"Retry-After": "1"}
        )
    except ConnectionFailure:
        log.exception("MongoDB unreachable while handling %s %s", request.method, request.path)
        return error_response(503, "service_unavailable", "the database is unavailable")
    except Exception:
        # The traceback goes to the log, never to the client.
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(500, "internal_error", "internal server error")
