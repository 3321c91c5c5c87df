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

import logging
from collections.abc import Awaitable, Callable

import faust

from agents.decider import Decider
from agents.projector import Projection
from agents.settings import Settings

log = logging.getLogger(__name__)


class AgentsApp(faust.App):
    """A Faust app whose work is its two loops, started with the app itself: not, as
    ``app.task`` would, after Faust's own consumer group has settled, which a restarted
    worker would wait for until its previous session timed out."""

    loops: list[Callable[[], Awaitable[None]]]

    async def on_start(self) -> None:
        await super().on_start()
        for loop in self.loops:
            self.add_future(loop())


def create_app(settings: Settings) -> faust.App:
    app = AgentsApp(
        settings.app_id,
        broker=settings.faust_broker,
        store="memory://",
        topic_partitions=settings.topic_partitions,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=settings.heartbeat_interval,
    )
    decider = Decider(settings)
    projection = Projection(settings)

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
        essential(decider.run, "decide_requests"),
        essential(projection.run, "project_facts"),
    ]
    return app


app = create_app(Settings())  # type: ignore[call-arg]
