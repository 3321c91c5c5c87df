"""The Faust application: ``faust -A agents.app worker -l info``.

The worker runs two loops, each over its own consumer group, so two workers share both:

- ``decide_requests`` (``agents.decider``): requests in, facts out, with Kafka transactions,
  against state folded from the event log. Nothing on it reads or writes MongoDB.
- ``project_facts`` (``agents.projector``): facts in, MongoDB views out, idempotently.

Faust's own agents are not used for deciding: its ``exactly_once`` guarantee does not cover
sends to another topic (measured: duplicates reached read-committed readers as often as
without it), and its streams read uncommitted records. The loops use aiokafka, which Faust is
built on, directly: a transactional producer per partition, read-committed consumers. Faust
hosts them: the worker CLI, logging, signals, and a crash of either loop stopping the worker,
so that whatever supervises it restarts it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import faust
from faust.web import Request, Response, View
from prometheus_client import generate_latest

from agents.decider import Decider
from agents.metrics import AgentsMetrics
from agents.projector import Projector
from agents.settings import Settings
from records.operations import BackgroundTasks, configure_logging

log = logging.getLogger(__name__)


class AgentsApp(faust.App):
    """A Faust app whose work is its two loops, started with the app itself: not, as
    ``app.task`` would, after Faust's own consumer group has settled, which a restarted
    worker would wait for until its previous session timed out."""

    loops: list[Callable[[], Awaitable[None]]]
    background: BackgroundTasks

    async def on_start(self) -> None:
        await super().on_start()
        # In place of the handlers the worker CLI set up: the same lines as the other
        # services', with the request id, at ``LOG_LEVEL``.
        configure_logging()
        for loop in self.loops:
            self.background.watch(loop.__name__, asyncio.ensure_future(self.add_future(loop())))

    async def on_stop(self) -> None:
        self.background.stopping = True
        await super().on_stop()


def create_app(settings: Settings) -> faust.App:
    app = AgentsApp(
        settings.app_id,
        broker=settings.faust_broker,
        store="memory://",
        topic_partitions=settings.topic_partitions,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=settings.heartbeat_interval,
    )
    metrics = AgentsMetrics()
    decider = Decider(settings, metrics)
    projector = Projector(settings, metrics)
    app.background = background = BackgroundTasks(metrics.registry)
    started = {"decider": asyncio.Event(), "projector": asyncio.Event()}

    def essential(loop: Callable[[], Awaitable[None]], name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            try:
                await loop()
            except Exception as exc:
                log.exception("%s stopped", name)
                await app.crash(exc)
                raise

        run.__name__ = name
        return run

    app.loops = [
        essential(lambda: decider.run(started["decider"]), "decide_requests"),
        essential(lambda: projector.run(started["projector"]), "project_facts"),
    ]
    add_operations_pages(app, background, metrics, started)
    return app


def add_operations_pages(
    app: faust.App,
    background: BackgroundTasks,
    metrics: AgentsMetrics,
    started: dict[str, asyncio.Event],
) -> None:
    """``/healthz``, ``/readyz`` and ``/metrics`` on the worker's web server (``--web-port``),
    as on every service (``records.operations``): ready once both loops run and have joined
    their consumer groups."""

    @app.page("/healthz")
    async def healthz(self: View, request: Request) -> Response:
        return self.json({"status": "alive"})

    @app.page("/readyz")
    async def readyz(self: View, request: Request) -> Response:
        tasks = background.status()
        checks = {f"{name} started": event.is_set() for name, event in started.items()}
        ready = bool(tasks) and all(tasks.values()) and all(checks.values())
        body = {"status": "ready" if ready else "not ready", "tasks": tasks, "checks": checks}
        return self.json(body, status=200 if ready else 503)

    @app.page("/metrics")
    async def prometheus(self: View, request: Request) -> Response:
        background.status()
        # Prometheus's text format; aiohttp takes the charset apart from the content type.
        text = generate_latest(metrics.registry).decode()
        return self.text(text, content_type="text/plain; version=0.0.4")


app = create_app(Settings())  # type: ignore[call-arg]
