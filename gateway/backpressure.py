"""Sockets that do not read what they are sent are disconnected, not buffered without end.

Each Engine.IO socket has a queue of packets its writer drains into the connection. A client
that stops reading (a frozen tab, a hostile script) fills its TCP window; the writer then waits
and the queue grows with every message to the client's groups, in this node's memory. A socket
whose queue passes ``limit`` packets is closed: the client, if alive, reconnects and recovers
with ``join`` + ``since_seq`` like after any disconnect, losing nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

log = logging.getLogger(__name__)

CHECK_INTERVAL = 1.0


async def shed_slow_sockets(sio: socketio.AsyncServer, limit: int) -> None:
    """Close, every ``CHECK_INTERVAL``, each socket with more than ``limit`` packets queued;
    runs until cancelled."""
    while True:
        await asyncio.sleep(CHECK_INTERVAL)
        for eio_sid, socket in list(sio.eio.sockets.items()):
            queued = socket.queue.qsize()
            if queued > limit:
                log.warning("socket %s: %d packets unread; disconnecting it", eio_sid, queued)
                await close_abruptly(sio, eio_sid, socket)


async def close_abruptly(sio: socketio.AsyncServer, eio_sid: str, socket: Any) -> None:
    """Close the socket for Socket.IO at once (its rooms and session go) and cut the
    connection under it, so a writer blocked on a full connection lets go of the queue."""
    request = (sio.environ.get(eio_sid) or {}).get("aiohttp.request")
    await socket.close(wait=False, abort=True)
    if request is not None and request.transport is not None:
        request.transport.abort()
