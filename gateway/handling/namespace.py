"""The gateway's Socket.IO namespace and what every handler shares: the node's collaborators,
the acting user, asking the agents, the membership check, and the registry of handlers the
namespace dispatches from.

A client event is one function, in the module of its concern, registered with its name and
its rate-limit bucket (``gateway.limits``) by ``@handles(event, bucket=...)``, which also
turns its refusals into the acknowledgement ``{ok: false, error: {code, message}}``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import socketio
from pymongo.errors import PyMongoError

from gateway.bus import RequestBus
from gateway.commands import CommandError
from gateway.delivery import Delivery
from gateway.directory import UserDirectory
from gateway.limits import Bucket, RateLimits
from gateway.markers import ReadCoalescer
from gateway.metrics import GatewayMetrics
from gateway.presence import Presence
from gateway.readmodel import ReadModel
from gateway.rooms import NAMESPACE
from gateway.search import SearchClient
from gateway.seen import SeenLog
from gateway.settings import Settings
from records.requests import AnyRequest, RequestAnswered
from records.views import Group

log = logging.getLogger(__name__)

Reply = dict[str, Any]
Handler = Callable[["ChatNamespace", str, Any], Awaitable[Reply]]
Lifecycle = Callable[..., Awaitable[None]]

BUCKETS: dict[str, Bucket] = {}
"""Client event → the bucket it takes its token from."""
_HANDLERS: dict[str, Callable[..., Awaitable[Any]]] = {}


def handles(event: str, *, bucket: Bucket) -> Callable[[Handler], Handler]:
    """Register the handler of a client event: it takes a token from the person's ``bucket``
    first; a refusal or a storage failure becomes ``{ok: false, error: {code, message}}``."""

    def register(handler: Handler) -> Handler:
        _register(event, _acknowledged(event, bucket, handler))
        BUCKETS[event] = bucket
        return handler

    return register


def on_connection(event: Literal["connect", "disconnect"]) -> Callable[[Lifecycle], Lifecycle]:
    """Register what a socket's connecting or leaving does: no token, no acknowledgement."""

    def register(handler: Lifecycle) -> Lifecycle:
        _register(event, handler)
        return handler

    return register


def _register(event: str, handler: Callable[..., Awaitable[Any]]) -> None:
    if event in _HANDLERS:
        raise RuntimeError(f"two handlers of {event!r}")
    _HANDLERS[event] = handler


def _acknowledged(event: str, bucket: Bucket, handler: Handler) -> Handler:
    async def acknowledged(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
        started = time.perf_counter()
        handled, ack_seconds = ns.metrics.handled(event)
        handled.inc()
        try:
            user = await ns.get_session(sid)
            await ns.limits.spend(user["user_id"], bucket)
            return await handler(ns, sid, data)
        except CommandError as exc:
            ns.metrics.refusals.labels(event=event, code=exc.code).inc()
            extra = {}
            if isinstance(data, dict) and "client_msg_id" in data:
                extra["client_msg_id"] = data["client_msg_id"]
            return exc.reply(**extra)
        except PyMongoError:
            log.exception("MongoDB failed during %s", event)
            ns.metrics.refusals.labels(event=event, code="unavailable").inc()
            return CommandError("unavailable", "the service is unavailable, try again").reply()
        finally:
            ack_seconds.observe(time.perf_counter() - started)

    return acknowledged


class ChatNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """The default namespace. The user is kept in the Socket.IO session after ``connect``."""

    def __init__(
        self,
        settings: Settings,
        bus: RequestBus,
        seen: SeenLog,
        reads: ReadModel,
        delivery: Delivery,
        presence: Presence,
        directory: UserDirectory,
        search: SearchClient,
        limits: RateLimits,
        metrics: GatewayMetrics,
    ) -> None:
        super().__init__(NAMESPACE)
        self.settings = settings
        self.bus = bus
        self.seen = seen
        self.reads = reads
        self.delivery = delivery
        self.gate = delivery.gate
        self.presence = presence
        self.directory = directory
        self.search = search
        self.limits = limits
        self.metrics = metrics
        self.markers = ReadCoalescer()
        self.typed_at: dict[tuple[str, str], float] = {}
        """(socket id, group id) → when its last ``typing`` was relayed."""
        self.expiries: dict[str, asyncio.TimerHandle] = {}
        """Socket id → the end of its token's life (``gateway.handling.connection``)."""

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Dispatch to the handler registered for ``event`` (python-socketio's own dispatch
        looks for an ``on_<event>`` method)."""
        if event is not None and not isinstance(event, str):
            # As python-socketio's own dispatch, which cannot name a method after it.
            raise TypeError(f"an event name is a string, not {type(event).__name__}")
        handler = _HANDLERS.get(event)
        if handler is None:
            return None  # as python-socketio: an event no one handles is acknowledged empty
        try:
            return await handler(self, *args)
        except asyncio.CancelledError:
            return None  # as python-socketio's own dispatch

    def actor(self, sid: str, user: dict[str, Any]) -> dict[str, Any]:
        """Who asks, and where the answer goes: the fields every request carries."""
        return {
            "actor_id": user["user_id"],
            "actor": user["username"],
            "origin": self.bus.node_id,
            "origin_sid": sid,
        }

    async def ask(self, request: AnyRequest) -> RequestAnswered:
        """The agents' answer to ``request``; a refusal raises ``CommandError``."""
        answer = await self.bus.ask(request)  # this task's log lines now carry its id
        log.info(
            "%s of group %s by %s: %s",
            request.type,
            request.group_id,
            request.actor_id,
            "accepted" if answer.ok else f"refused ({answer.code})",
        )
        if not answer.ok:
            raise CommandError(answer.code or "refused", answer.message or "refused")
        self.seen.answered(request, answer)
        return answer

    async def member_group(self, user: dict[str, Any], group_id: str) -> Group:
        """The group as this node has read it, if the user is a member of it."""
        return await self.reads.member_group(user["user_id"], group_id)
