"""A socket whose queue of unsent packets passes the bound is closed; the others are not."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
import socketio

from gateway import backpressure


class Transport:
    def __init__(self) -> None:
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True


class Request:
    def __init__(self) -> None:
        self.transport = Transport()


class EngineSocket:
    """What ``shed_slow_sockets`` uses of an Engine.IO socket: its queue and ``close``."""

    def __init__(self, queued: int) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        for n in range(queued):
            self.queue.put_nowait(n)
        self.closed_with: dict[str, Any] | None = None

    async def close(self, **how: Any) -> None:
        self.closed_with = how


async def test_only_the_socket_past_the_bound_is_closed_and_its_connection_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(backpressure, "CHECK_INTERVAL", 0.01)
    sio = socketio.AsyncServer(async_mode="aiohttp")
    slow, reading = EngineSocket(queued=11), EngineSocket(queued=10)
    sio.eio.sockets.update({"slow": slow, "reading": reading})
    requests = {"slow": Request(), "reading": Request()}
    sio.environ.update({sid: {"aiohttp.request": r} for sid, r in requests.items()})

    task = asyncio.create_task(backpressure.shed_slow_sockets(sio, limit=10))
    async with asyncio.timeout(5):
        while slow.closed_with is None:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    # A socket that falls behind later, checked after the reading one: once it is closed,
    # the reading one has been looked at too.
    later = EngineSocket(queued=11)
    sio.eio.sockets["later"] = later
    async with asyncio.timeout(5):
        while later.closed_with is None:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    assert slow.closed_with == {"wait": False, "abort": True}
    assert requests["slow"].transport.aborted
    assert reading.closed_with is None and not requests["reading"].transport.aborted
