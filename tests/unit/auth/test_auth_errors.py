"""The error middleware and CORS, on a small in-process app: JSON always, no traceback leaked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pymongo.errors import ServerSelectionTimeoutError

from auth.cors import cors_middleware
from auth.errors import ApiError, error_middleware


async def _boom(request: web.Request) -> web.Response:
    raise RuntimeError("secret internals /etc/passwd")


async def _api_error(request: web.Request) -> web.Response:
    raise ApiError(409, "conflict", "already there", fields={"name": ["taken"]})


async def _db_down(request: web.Request) -> web.Response:
    raise ServerSelectionTimeoutError("no servers")


async def _echo(request: web.Request) -> web.Response:
    return web.json_response({"size": len(await request.read())})


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application(
        client_max_size=1024,
        middlewares=[cors_middleware(["http://chat.test"]), error_middleware],
    )
    app.router.add_get("/boom", _boom)
    app.router.add_get("/api-error", _api_error)
    app.router.add_get("/db-down", _db_down)
    app.router.add_post("/echo", _echo)
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_unexpected_error_is_500_json_without_details(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/boom")
    assert response.status == 500
    body = await response.json()
    assert body == {"error": {"code": "internal_error", "message": "internal server error"}}
    assert "passwd" not in await response.text()


async def test_api_error_keeps_code_and_fields(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/api-error")
    assert response.status == 409
    assert await response.json() == {
        "error": {"code": "conflict", "message": "already there", "fields": {"name": ["taken"]}}
    }


async def test_database_down_is_503(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.get("/db-down")
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "service_unavailable"


async def test_not_found_is_json(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.get("/nowhere")
    assert response.status == 404
    assert response.content_type == "application/json"
    assert (await response.json())["error"]["code"] == "not_found"


async def test_wrong_method_is_json_and_keeps_allow(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.delete("/echo")
    assert response.status == 405
    assert response.headers["Allow"] == "POST"
    assert (await response.json())["error"]["code"] == "method_not_allowed"


async def test_body_over_the_limit_is_413_json(
    client: TestClient[web.Request, web.Application],
) -> None:
    assert (await client.post("/echo", data=b"x" * 1024)).status == 200
    response = await client.post("/echo", data=b"x" * 1025)
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "payload_too_large"


async def test_cors_preflight_for_allowed_origin(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.options(
        "/echo",
        headers={"Origin": "http://chat.test", "Access-Control-Request-Method": "POST"},
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "http://chat.test"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


async def test_cors_headers_on_errors_too(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/nowhere", headers={"Origin": "http://chat.test"})
    assert response.status == 404
    assert response.headers["Access-Control-Allow-Origin"] == "http://chat.test"


async def test_cors_refuses_other_origins(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.options(
        "/echo", headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    response = await client.post("/echo", data=b"{}", headers={"Origin": "http://evil.test"})
    assert "Access-Control-Allow-Origin" not in response.headers
