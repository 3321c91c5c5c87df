"""The search application factory: ``create_app(settings)`` builds a fresh, runnable app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from records.operations import BackgroundTasks, operations_routes
from search.follower import Follower
from search.handlers import error_middleware, routes
from search.index import MessageIndex
from search.metrics import SearchMetrics
from search.settings import Settings
from search.typedefs import follower_key, index_key, metrics_key, settings_key, tasks_key


async def index_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the index (made if new); close it once the follower has stopped."""
    settings = app[settings_key]
    index = MessageIndex(
        settings.index_path,
        readers=settings.readers,
        relevance_window=settings.relevance_window,
        query_timeout=settings.query_timeout,
    )
    await asyncio.to_thread(index.open)
    app[index_key] = index
    try:
        yield
    finally:
        await asyncio.to_thread(index.close)


async def follower_ctx(app: web.Application) -> AsyncIterator[None]:
    """Follow the event log into the index, watched, for as long as the app runs."""
    tasks = app[tasks_key]
    follower = app[follower_key] = Follower(app[settings_key], app[index_key], app[metrics_key])
    task = tasks.watch("follower", asyncio.create_task(follower.follow(), name="follower"))
    try:
        yield
    finally:
        tasks.stopping = True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[error_middleware])
    app[settings_key] = settings
    metrics = app[metrics_key] = SearchMetrics()
    tasks = app[tasks_key] = BackgroundTasks(metrics.registry)
    app.cleanup_ctx.extend([index_ctx, follower_ctx])

    async def index() -> None:
        """The index answers a reader."""
        await asyncio.to_thread(app[index_key].ping)

    async def caught_up() -> None:
        """The index holds the log up to where it ended at start: its answers are whole."""
        if not app[follower_key].caught_up.is_set():
            raise RuntimeError("still reading the event log into the index")

    checks = {"index": index, "caught_up": caught_up}
    app.add_routes(operations_routes(tasks, metrics.registry, checks))
    app.add_routes(routes)
    return app
