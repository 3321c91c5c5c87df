"""What every service shows an operator: ``/healthz``, ``/readyz``, ``/metrics``, and its logs.

- ``/healthz``: the process answers (alive). A supervisor restarts it when this fails.
- ``/readyz``: every background task the service needs is running and its dependencies answer
  (ready to serve). A balancer sends it traffic only then. A background task that stops
  while the service runs is logged with its error at once and turns ``/readyz`` red.
- ``/metrics``: the service's Prometheus registry, in the text format.
- Logs: one line per record; JSON with ``LOG_FORMAT=json``, carrying the request id of the
  message being handled (``request_id``), which travels from the gateway to the agents in
  a Kafka header, so one message can be followed across services.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "request_id"
"""The Kafka header that carries a request's id from the gateway to the agents."""
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
"""The id of the request being handled here, for the log lines it causes."""


@contextmanager
def under_request_id(current: str | None) -> Iterator[None]:
    """Log lines written inside carry ``current`` as their request id."""
    token = request_id.set(current)
    try:
        yield
    finally:
        request_id.reset(token)


Check = Callable[[], Awaitable[None]]
"""A dependency check for ``/readyz``: returns if the dependency answers, raises if not."""


class BackgroundTasks:
    """The tasks a service needs running, watched: one that ends while the service runs is
    logged with its error, and the service stops being ready."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._probes: dict[str, Callable[[], bool]] = {}
        self.stopping = False
        self._up = (
            Gauge(
                "background_task_up",
                "1 while the background task runs",
                ["task"],
                registry=registry,
            )
            if registry is not None
            else None
        )

    def watch(self, name: str, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._tasks[name] = task
        task.add_done_callback(partial(self._ended, name))
        return task

    def __getitem__(self, name: str) -> asyncio.Task[Any]:
        return self._tasks[name]

    def probe(self, name: str, running: Callable[[], bool]) -> None:
        """A task owned by a library, known only by asking whether it runs."""
        self._probes[name] = running

    def _ended(self, name: str, task: asyncio.Task[Any]) -> None:
        if self.stopping:
            return
        error = None if task.cancelled() else task.exception()
        log.error(
            "background task %r stopped while the service runs; not ready", name, exc_info=error
        )

    def status(self) -> dict[str, bool]:
        status = {name: not task.done() for name, task in self._tasks.items()}
        for name, running in self._probes.items():
            try:
                status[name] = bool(running())
            except Exception:  # noqa: BLE001 - a probe that fails says "not running"
                status[name] = False
        if self._up is not None:
            for name, up in status.items():
                self._up.labels(task=name).set(1 if up else 0)
        return status


def operations_routes(
    tasks: BackgroundTasks, registry: CollectorRegistry, checks: Mapping[str, Check]
) -> list[web.RouteDef]:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(request: web.Request) -> web.Response:
        running = tasks.status()
        answers: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), timeout=2)
                answers[name] = True
            except Exception:  # noqa: BLE001 - any failure means "not ready", with its name
                answers[name] = False
        ready = all(running.values()) and all(answers.values())
        body = {"status": "ready" if ready else "not ready", "tasks": running, "checks": answers}
        return web.json_response(body, status=200 if ready else 503)

    async def metrics(request: web.Request) -> web.Response:
        tasks.status()  # refreshes background_task_up
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    return [
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.get("/metrics", metrics),
    ]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, error."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (current := request_id.get()) is not None:
            line["request_id"] = current
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to plain-text records, so the text format can show it too."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


def log_level() -> int:
    """``LOG_LEVEL`` (``debug``, ``info`` — the default —, ``warning``, ``error``)."""
    name = os.environ.get("LOG_LEVEL", "info").upper()
    level = logging.getLevelName(name)
    if not isinstance(level, int):
        raise ValueError(f"LOG_LEVEL must be debug, info, warning or error, not {name!r}")
    return level


def configure_logging(level: int | None = None) -> None:
    """The process's log format, from ``LOG_FORMAT`` (``text``, the default, or ``json``), and
    its level, from ``LOG_LEVEL``. Each line carries the request id of the task it is about."""
    # The process's own stderr: a Faust worker replaces ``sys.stderr`` with a proxy that
    # logs what is written to it, which would loop a line back into the logger.
    handler = logging.StreamHandler(sys.__stderr__ or sys.stderr)
    if os.environ.get("LOG_FORMAT", "text").lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(log_level() if level is None else level)
