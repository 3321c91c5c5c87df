"""What an operator sees: /healthz, /readyz and /metrics on the gateway and the agent worker
(auth's are in tests/integration/auth)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from gateway.app import create_app
from gateway.settings import Settings
from gateway.typedefs import SIO, TASKS
from records.operations import RequestIdFilter
from tests.integration.message_path.conftest import NewClient, Start, connected, create_group


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            return response.status, await response.text()


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text format (0 when absent); labels in any
    order."""
    for line in metrics.splitlines():
        found = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if found and dict(re.findall(r'(\w+)="([^"]*)"', found.group(1) or "")) == labels:
            return float(found.group(2))
    return 0.0


async def test_gateway_metrics_move_with_traffic(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    await alice.ok("send", {"group_id": group_id, "client_msg_id": "m1", "body": "counted"})
    await alice.next_message()
    refused = await alice.call("send", {"group_id": group_id, "client_msg_id": "m2", "body": ""})
    assert refused["error"]["code"] == "body_empty"
    stranger = new_client()
    with pytest.raises(Exception):  # noqa: B017 - socketio raises ConnectionError
        await stranger.connect(url, "not-a-token")

    status, text = await get(f"{url}/metrics")
    assert status == 200
    assert sample(text, "chat_gateway_sockets") == 1
    assert sample(text, "chat_gateway_events_total", event="send") == 2
    assert sample(text, "chat_gateway_refusals_total", event="send", code="body_empty") == 1
    assert sample(text, "chat_gateway_refusals_total", event="connect", code="token_invalid") == 1
    assert sample(text, "chat_gateway_ack_seconds_count", event="send") == 2
    assert sample(text, "chat_gateway_facts_total", type="MessageSaved") >= 1
    assert sample(text, "chat_gateway_redis_listener_up") == 1
    assert sample(text, "background_task_up", task="event log reader") == 1
    assert "chat_gateway_log_lag{" in text


async def test_a_stopped_background_task_turns_readyz_red(
    gateway_settings: Settings, agents_worker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(gateway_settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        status, body = await get(f"{url}/readyz")
        assert status == 200, body
        assert '"replies reader": true' in body and '"redis listener": true' in body
        assert '"kafka": true' in body and '"mongodb": true' in body

        with caplog.at_level(logging.ERROR, logger="records.operations"):
            reader = app[TASKS]["replies reader"]
            reader.cancel()
            async with asyncio.timeout(10):
                await asyncio.wait([reader])  # its watcher, called back first, has logged it
        assert "'replies reader' stopped while the service runs" in caplog.text
        status, body = await get(f"{url}/readyz")
        assert status == 503
        assert '"replies reader": false' in body and '"event log reader": true' in body
        assert (await get(f"{url}/healthz"))[0] == 200  # alive, though not ready
    finally:
        await runner.cleanup()


async def test_the_agent_worker_is_ready_and_counts_what_it_decides(
    agents_worker: Any, start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    status, body = await get(f"{agents_worker.web_url}/readyz")
    assert status == 200, body
    assert (await get(f"{agents_worker.web_url}/healthz"))[0] == 200
    before = sample((await get(f"{agents_worker.web_url}/metrics"))[1],
                    "chat_agents_decided_requests_total")  # fmt: skip

    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    await alice.ok("send", {"group_id": group_id, "client_msg_id": "m1", "body": "counted"})
    await alice.next_message()
    # Counted once committed, a moment after the gateway may have delivered the message.
    async with asyncio.timeout(10):
        while True:
            _, text = await get(f"{agents_worker.web_url}/metrics")
            if sample(text, "chat_agents_decided_requests_total") >= before + 2:
                break
            await asyncio.sleep(0.05)
    assert sample(text, "chat_agents_commit_seconds_count") >= 1
    assert sample(text, "background_task_up", task="decide_requests") == 1
    assert sample(text, "background_task_up", task="project_facts") == 1
    # A series for each partition this worker owns, read when scraped.
    lags = re.findall(r'chat_agents_(request|projection)_lag\{partition="(\d+)"\} (\S+)', text)
    assert {kind for kind, _, _ in lags} == {"request", "projection"}, text
    assert all(float(value) >= 0 for _, _, value in lags)


async def test_one_request_is_followed_by_its_id_from_the_gateway_to_the_agents(
    start_gateway: Start,
    new_client: NewClient,
    token_for: Callable[..., str],
    gateway_apps: dict[str, web.Application],
    agents_worker: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = await start_gateway()
    bus = gateway_apps[url][SIO].namespace_handlers["/"].bus
    asked: list[Any] = []
    ask = bus.ask

    async def recorded(request: Any) -> Any:
        asked.append(request)
        return await ask(request)

    bus.ask = recorded
    caplog.handler.addFilter(RequestIdFilter())  # as the services' own handlers do
    caplog.set_level(logging.INFO, logger="gateway.handling")
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    (request,) = [r for r in asked if r.group_id == group_id]

    gateway_lines = [r for r in caplog.records if group_id in r.getMessage()]
    assert [r.request_id for r in gateway_lines] == [request.event_id], gateway_lines
    wanted = f"[{request.event_id}] {request.type} of group {group_id} accepted"
    async with asyncio.timeout(10):  # the worker's line is written as the answer goes out
        while wanted not in agents_worker.log_path.read_text(errors="replace"):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
