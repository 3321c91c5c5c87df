"""The Socket.IO Redis manager the gateway nodes share, for what is not in the event log:
typing, presence and anything else emitted to another node's sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet


class LocalEmit:
    """An emit to this node's own sockets (``ignore_queue``) without a task per recipient.

    python-socketio encodes the packet once, then makes an asyncio task for each socket of
    the room to put it on that socket's queue, and waits for them all: at 1,000 messages a
    second to groups of ten, 10,000 tasks a second for what is, for each socket, one
    ``queue.put`` that does not wait. Here the same packet goes on each queue in turn, in the
    same order, and each socket's writer sends it as before.

    ``written`` is called when the first recipient's writer takes the packet from its queue:
    how long a message took to reach a socket, its wait in this node's queues included
    (``gateway.admission``).
    """

    server: Any
    rooms: dict[str, Any]
    get_participants: Callable[[str, str | None], Iterable[tuple[str, str]]]
    """(What python-socketio's manager has: annotations only, nothing here overrides it.)"""

    async def emit_here(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: str | None,
        skip_sid: str | list[str] | None,
        written: Callable[[], None] | None = None,
    ) -> None:
        if namespace not in self.rooms:
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        frames = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid not in skip:
                for n, frame in enumerate(frames):
                    if written is not None and n == 0:
                        frame, written = _Written(frame, written), None
                    await self.server._send_eio_packet(eio_sid, frame)


class _Written(eio_packet.Packet):  # type: ignore[misc]
    """A frame that calls ``written`` when its socket's writer encodes it to send it."""

    def __init__(self, frame: eio_packet.Packet, written: Callable[[], None]) -> None:
        super().__init__(frame.packet_type, frame.data)
        self._written: Callable[[], None] | None = written

    def encode(self, b64: bool = False) -> Any:
        if self._written is not None:
            written, self._written = self._written, None
            written()
        return super().encode(b64)


class RedisManager(LocalEmit, socketio.AsyncRedisManager):  # type: ignore[misc]
    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: str | None = None,
        skip_sid: str | list[str] | None = None,
        callback: Any = None,
        to: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("ignore_queue") and callback is None:
            await self.emit_here(event, data, namespace or "/", to or room, skip_sid)
            return
        await super().emit(
            event, data, namespace=namespace, room=room, skip_sid=skip_sid,
            callback=callback, to=to, **kwargs,
        )  # fmt: skip

    def listening(self) -> bool:
        """True while the listener for other nodes' broadcasts runs."""
        thread = getattr(self, "thread", None)
        return thread is not None and not thread.done()

    async def close(self) -> None:
        """Stop listening and close the Redis connections (``sio.shutdown`` does neither)."""
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await thread
        if self.pubsub is not None:
            await self.pubsub.aclose()
        if self.redis is not None:
            await self.redis.aclose()
