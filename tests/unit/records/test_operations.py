"""Background tasks watched for readiness, and JSON log lines carrying the request id."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from records.operations import BackgroundTasks, JsonFormatter, request_id


async def test_a_task_that_stops_is_not_running_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = CollectorRegistry()
    tasks = BackgroundTasks(registry)

    async def fails() -> None:
        raise RuntimeError("lost the consumer")

    forever = tasks.watch("reader", asyncio.create_task(asyncio.sleep(60)))
    with caplog.at_level(logging.ERROR):
        consumer = tasks.watch("consumer", asyncio.create_task(fails()))
        await asyncio.wait([consumer])  # its watcher, called back first, has logged it
    assert tasks.status() == {"reader": True, "consumer": False}
    assert "'consumer' stopped while the service runs" in caplog.text
    assert "lost the consumer" in caplog.text  # with its error
    assert b'background_task_up{task="consumer"} 0.0' in generate_latest(registry)
    tasks.stopping = True  # stopping: tasks end as they should, nothing logged
    caplog.clear()
    forever.cancel()
    await asyncio.wait([forever])  # ended, and its watcher called
    assert caplog.text == ""


def test_a_json_line_carries_the_request_id() -> None:
    record = logging.LogRecord("gateway.requests", logging.INFO, "f", 1, "saved %s", ("m1",), None)
    token = request_id.set("abc123")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["message"] == "saved m1"
    assert (line["level"], line["logger"], line["request_id"]) == (
        "info", "gateway.requests", "abc123"
    )  # fmt: skip
    assert "request_id" not in json.loads(JsonFormatter().format(record))
