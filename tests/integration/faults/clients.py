"""A chat member as a careful client behaves: one socket that reconnects when it drops,
rejoins its group from the last ``seq`` it saw, and resends every unacknowledged message with
the same ``client_msg_id`` until the gateway acknowledges it.

Everything it is sent is kept (``seen``), so the audit can compare each member's live view
with the group's history.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from typing import Any

import socketio
from socketio.exceptions import SocketIOError

log = logging.getLogger(__name__)

CALL_TIMEOUT = 15.0
"""Longer than the gateway's own send and request timeouts (10 s, 15 s), so a slow answer
comes back as a refusal rather than as silence."""
RETRYABLE = {"unavailable", "timeout"}
"""Refusals that mean 'try again': the README promises a retried send is stored once."""


class Lost(Exception):
    """The socket went down (or was already down) before the acknowledgement came."""


class Refused(Exception):
    """The gateway answered ``ok: false``."""

    def __init__(self, event: str, reply: Any) -> None:
        super().__init__(f"{event} refused: {reply!r}")
        error = reply.get("error", {}) if isinstance(reply, dict) else {}
        self.code = error.get("code")
        self.retry_after: float | None = error.get("retry_after")
        """Seconds the gateway asked to wait before sending again (``unavailable``)."""


async def discard(sio: socketio.AsyncClient) -> None:
    """Close a socket and its HTTP session, in whatever state a drop or a failed connect
    left it (python-socketio keeps the session open after a refused connect)."""
    with contextlib.suppress(Exception):
        if sio.connected:
            await sio.disconnect()
        await sio.eio.disconnect(abort=True)


class Member:
    """One user with one socket on one gateway node, in one group."""

    def __init__(self, name: str, url: str, token: str, others: list[str] | None = None) -> None:
        self.name = name
        self.url = url
        self.urls = list(dict.fromkeys([url, *(others or [])]))
        """Every node it may use: when its socket drops it tries the next one, as a client
        behind a balancer lands on another node."""
        self.token = token
        self.group_id: str | None = None
        self.user_id: str | None = None
        self.seen: list[tuple[int, str]] = []
        """``(seq, client_msg_id)`` of every ``message`` of the group, in arrival order."""
        self.last_seq = 0
        self.read_acked = 0
        """The highest read marker the gateway acknowledged: it must never be lost."""
        self.acknowledged: set[str] = set()
        self.pending: set[str] = set()
        self.rejected: set[str] = set()
        """Acknowledged sends the agents refused afterwards (``message_rejected``)."""
        self.refusals: list[tuple[str, str | None]] = []
        """Sends refused for good, with a code no retry can fix: a harness or gateway bug."""
        self.sent_at: dict[str, float] = {}
        """``client_msg_id`` → when it was first sent (``time.monotonic()``)."""
        self.acked_at: dict[str, float] = {}
        self.arrived_at: dict[str, float] = {}
        """``client_msg_id`` → when its ``message`` first reached this member."""
        self.message_ids: list[str] = []
        """Every message of the group it was sent, by id: what it reacts to."""
        self.reactions_acked: set[tuple[str, str]] = set()
        """``(message_id, emoji)`` of each reaction of its own the gateway acknowledged."""
        self.reactions_seen: dict[tuple[str, str], tuple[int, int]] = {}
        """``(message_id, emoji)`` → ``(change, count)`` of the newest ``reaction`` event."""
        self.reaction_changes: list[int] = []
        """The ``change`` of every ``reaction`` event, in arrival order."""
        self.reconnects = 0
        self.drops: list[float] = []
        """When its socket dropped (``time.monotonic()``)."""
        self.readies: list[float] = []
        """When it was connected and (re)joined."""
        self.attempts: list[tuple[float, str, str]] = []
        """Each reconnection tried: when it ended, the node, and how (``ok`` or the error)."""
        self.ready = asyncio.Event()
        """Set while the socket is up and (re)joined: sends wait on it."""
        self._sio: socketio.AsyncClient | None = None
        self._lost = asyncio.Event()
        self._numbers = itertools.count(1)
        self._supervisor: asyncio.Task[None] | None = None

    # --- the connection -------------------------------------------------------------------

    async def connect(self) -> None:
        """Open a fresh socket and, if the member is in a group, rejoin it from the last seq
        seen: the gateway then sends what was missed before anything live."""
        sio = socketio.AsyncClient(reconnection=False)
        lost = asyncio.Event()
        sio.on("message", self._on_message)
        sio.on("message_rejected", self._on_rejected)
        sio.on("reaction", self._on_reaction)
        sio.on("disconnect", lambda *_: lost.set())
        try:
            auth = {"token": self.token}
            await sio.connect(self.url, auth=auth, transports=["websocket"], wait_timeout=5)
            self._sio, self._lost = sio, lost
            if self.group_id is not None:
                since = {"since_seq": self.last_seq, "since_change": self.last_change}
                await self.ok("join", {"group_id": self.group_id, **since})
        except BaseException:
            await discard(sio)
            raise
        self.readies.append(time.monotonic())
        self.ready.set()

    def stay_connected(self) -> None:
        """From now on, reconnect and rejoin whenever the socket drops."""
        self._supervisor = asyncio.create_task(self._reconnect_forever())

    async def _reconnect_forever(self) -> None:
        while True:
            await self._lost.wait()
            self.ready.clear()
            self.drops.append(time.monotonic())
            self.reconnects += 1
            if self._sio is not None:
                await discard(self._sio)
            while True:
                self.url = self.urls[(self.urls.index(self.url) + 1) % len(self.urls)]
                try:
                    await self.connect()
                    self.attempts.append((time.monotonic(), self.url, "ok"))
                    break
                except Exception as exc:  # noqa: BLE001 - a node away: keep trying, like a client
                    self.attempts.append((time.monotonic(), self.url, repr(exc)[:80]))
                    log.debug("%s could not reconnect: %r", self.name, exc)
                    await asyncio.sleep(0.2)

    async def close(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        if self._sio is not None:
            await discard(self._sio)

    # --- calls ----------------------------------------------------------------------------

    async def call(self, event: str, data: Any) -> Any:
        """One Socket.IO call; ``Lost`` as soon as the socket drops, not after the timeout."""
        sio, lost = self._sio, self._lost
        if sio is None or lost.is_set():
            raise Lost(event)
        call = asyncio.ensure_future(sio.call(event, data, timeout=CALL_TIMEOUT))
        down = asyncio.ensure_future(lost.wait())
        try:
            done, _ = await asyncio.wait({call, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            down.cancel()
        if call not in done:
            call.cancel()
            raise Lost(event)
        return call.result()

    async def ok(self, event: str, data: Any) -> dict[str, Any]:
        reply = await self.call(event, data)
        if not (isinstance(reply, dict) and reply.get("ok") is True):
            raise Refused(event, reply)
        return reply

    async def ok_eventually(self, event: str, data: Any, within: float = 60) -> dict[str, Any]:
        """Call until acknowledged: through reconnects and ``unavailable``/``timeout``."""
        async with asyncio.timeout(within):
            while True:
                await self.ready.wait()
                try:
                    return await self.ok(event, data)
                except Refused as exc:
                    if exc.code not in RETRYABLE:
                        raise
                except (Lost, SocketIOError):
                    pass
                await asyncio.sleep(0.3)

    # --- the group ------------------------------------------------------------------------

    async def create_group(self, name: str) -> str:
        reply = await self.ok("create_group", {"name": name, "private": False})
        self.group_id = str(reply["group_id"])
        return self.group_id

    async def open_direct(self, user_id: str) -> str:
        """Open the direct conversation with ``user_id``: its group is this member's."""
        reply = await self.ok("direct", {"user_id": user_id})
        self.group_id = str(reply["group_id"])
        return self.group_id

    async def join(self, group_id: str) -> None:
        """Join from seq 0, so this member's view must hold the whole history too."""
        self.group_id = group_id
        await self.ok("join", {"group_id": group_id, "since_seq": 0})

    async def mark_read(self) -> None:
        """Say this member has read up to the newest message it was sent; a marker that is
        not acknowledged (the node went away) is simply sent again later."""
        if self.group_id is None or self.last_seq == 0:
            return
        try:
            reply = await self.ok("read", {"group_id": self.group_id, "seq": self.last_seq})
        except (Refused, Lost, SocketIOError):
            return
        self.read_acked = max(self.read_acked, int(reply["last_read_seq"]))

    async def send(self) -> None:
        """Send one new message; retry it with the same ``client_msg_id`` until it is
        acknowledged, or refused with a code that no retry can fix."""
        assert self.group_id is not None
        client_msg_id = f"{self.name}-{next(self._numbers)}"
        payload = {"group_id": self.group_id, "client_msg_id": client_msg_id, "body": client_msg_id}
        self.pending.add(client_msg_id)
        self.sent_at[client_msg_id] = time.monotonic()
        delay = 0.2
        while True:
            await self.ready.wait()
            try:
                await self.ok("send", payload)
            except Refused as exc:
                if exc.code not in RETRYABLE:
                    self.pending.discard(client_msg_id)
                    self.refusals.append((client_msg_id, exc.code))
                    return
                if exc.retry_after is not None:  # too busy: come back when told
                    await asyncio.sleep(exc.retry_after)
                    continue
            except (Lost, SocketIOError):
                pass
            else:
                self.pending.discard(client_msg_id)
                self.acknowledged.add(client_msg_id)
                self.acked_at[client_msg_id] = time.monotonic()
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def react(self, emoji: str) -> None:
        """Put ``emoji`` on a random message it was sent, retried until acknowledged; with
        ``reacted: true``, so a retry after a lost answer cannot take it back."""
        if not self.message_ids:
            return
        message_id = random.choice(self.message_ids)
        payload = {"message_id": message_id, "emoji": emoji, "reacted": True}
        try:
            await self.ok_eventually("react", payload)
        except Refused as exc:
            self.refusals.append((f"react {message_id} {emoji}", exc.code))
            return
        except TimeoutError:
            return  # never acknowledged: not counted either way
        self.reactions_acked.add((message_id, emoji))

    @property
    def last_change(self) -> int:
        return max(self.reaction_changes, default=0)

    # --- what the server sends ------------------------------------------------------------

    async def _on_message(self, data: dict[str, Any]) -> None:
        if data.get("group_id") != self.group_id:
            return
        seq = int(data["seq"])
        self.seen.append((seq, str(data["client_msg_id"])))
        self.arrived_at.setdefault(str(data["client_msg_id"]), time.monotonic())
        self.message_ids.append(str(data["message_id"]))
        self.last_seq = max(self.last_seq, seq)

    async def _on_reaction(self, data: dict[str, Any]) -> None:
        if data.get("group_id") != self.group_id:
            return
        change = int(data["change"])
        self.reaction_changes.append(change)
        self.reactions_seen[(str(data["message_id"]), str(data["emoji"]))] = (
            change,
            int(data["count"]),
        )

    async def _on_rejected(self, data: dict[str, Any]) -> None:
        self.rejected.add(str(data["client_msg_id"]))
