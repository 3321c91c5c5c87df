"""What every Socket.IO handler shares: the namespace's collaborators, acknowledgements
that turn refusals into ``{ok: false, error}``, and the checks most handlers make."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

import socketio
from pymongo.errors import PyMongoError

from gateway.commands import CommandError
from gateway.delivery import Delivery
from gateway.directory import UserDirectory
from gateway.limits import KIND_OF_EVENT, RateLimits
from gateway.markers import ReadCoalescer
from gateway.metrics import GatewayMetrics
from gateway.presence import Presence
from gateway.readmodel import ReadModel
from gateway.requests import RequestBus
from gateway.settings import Settings
from records.requests import AnyRequest, RequestAnswered
from records.views import Group

log = logging.getLogger(__name__)

Reply = dict[str, Any]
Handler = Callable[..., Awaitable[Reply]]


def acknowledged(handler: Handler) -> Handler:
    """Take the event's token from the person's bucket (``gateway.limits``), then turn
    refusals and storage failures into ``{ok: false, error: {code, message}}``."""

    event = handler.__name__.removeprefix("on_")
    kind = KIND_OF_EVENT[event]

    @wraps(handler)
    async def wrapper(self: NamespaceBase, sid: str, data: Any = None) -> Reply:
        started = time.perf_counter()
        handled, ack_seconds = self.metrics.handled(event)
        handled.inc()
        try:
            user = await self.get_session(sid)
            await self.limits.spend(user["user_id"], kind)
            return await handler(self, sid, data)
        except CommandError as exc:
            self.metrics.refusals.labels(event=event, code=exc.code).inc()
            extra = {}
            if isinstance(data, dict) and "client_msg_id" in data:
                extra["client_msg_id"] = data["client_msg_id"]
            return exc.reply(**extra)
        except PyMongoError:
            log.exception("MongoDB failed during %s", handler.__name__)
            self.metrics.refusals.labels(event=event, code="unavailable").inc()
            return CommandError("unavailable", "the service is unavailable, try again").reply()
        finally:
            ack_seconds.observe(time.perf_counter() - started)

    return wrapper


class NamespaceBase(socketio.AsyncNamespace):  # type: ignore[misc]
    """The default namespace's state; the handlers live in subclasses, grouped by topic."""

    def __init__(
        self,
        settings: Settings,
        bus: RequestBus,
        reads: ReadModel,
        delivery: Delivery,
        presence: Presence,
        directory: UserDirectory,
        limits: RateLimits,
        metrics: GatewayMetrics,
    ) -> None:
        super().__init__("/")
        self.settings = settings
        self.bus = bus
        self.reads = reads
        self.delivery = delivery
        self.gate = delivery.gate
        self.presence = presence
        self.directory = directory
        self.limits = limits
        self.metrics = metrics
        self.markers = ReadCoalescer()
        self._typing: dict[tuple[str, str], float] = {}
        self._expiries: dict[str, asyncio.TimerHandle] = {}

    def _actor(self, sid: str, user: dict[str, Any]) -> dict[str, Any]:
        return {
            "actor_id": user["user_id"],
            "actor": user["username"],
            "origin": self.bus.node_id,
            "origin_sid": sid,
        }

    async def _ask(self, request: AnyRequest) -> RequestAnswered:
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
        if answer.version:
            self.gate.saw(request.group_id, "version", answer.version)
            self.gate.concerns(request.actor_id, request.group_id, answer.version)
        return answer

    async def _after_changes_to(self, user_id: str) -> None:
        """Wait (briefly) for the views to show every membership change of the user this node
        has seen: their own joins and leaves, invitations to them."""
        for group_id, version in list(self.gate.changes_of(user_id).items()):
            await self.reads.group(group_id, version=version)

    async def _member_group(self, sid: str, user: dict[str, Any], group_id: str) -> Group:
        group = await self.delivery.current_group(group_id)
        if group is None:
            raise CommandError("group_not_found", f"there is no group {group_id!r}")
        if user["user_id"] not in group.members:
            raise CommandError("not_a_member", f"join group {group_id!r} first")
        return group
