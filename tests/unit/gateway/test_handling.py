"""Each client event is registered once, with the bucket it takes its token from; the
namespace dispatches from that registry and acknowledges refusals as ``{ok: false, error}``."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import SecretStr

from gateway.commands import CommandError
from gateway.gate import DeliveryGate
from gateway.handling import BUCKETS, ChatNamespace
from gateway.handling.namespace import Reply, handles
from gateway.limits import Bucket
from gateway.metrics import GatewayMetrics
from gateway.settings import Settings

CLIENT_EVENTS = {
    "create_group", "find_groups", "join", "leave", "invite", "decline", "revoke",
    "remove_member", "groups", "members", "send", "history", "edit", "delete", "read",
    "typing", "presence", "search", "direct", "block", "unblock", "blocked", "react",
}  # fmt: skip
"""The client → server events of the protocol (the README's table)."""


def test_every_client_event_takes_from_a_bucket_that_has_a_limit() -> None:
    settings = Settings(
        redis_url="redis://r", kafka_url="k:1", mongodb_uri="mongodb://m",
        jwt_secret=SecretStr("s" * 32),
    )  # fmt: skip
    assert set(BUCKETS) == CLIENT_EVENTS
    assert set(BUCKETS.values()) <= set(settings.limits())
    assert BUCKETS["read"] == "marker", "markers never spend what joins and history need"
    assert BUCKETS["search"] == "search", "searches never spend what joins and history need"


def test_an_event_is_handled_in_one_place_only() -> None:
    async def again(ns: ChatNamespace, sid: str, data: Any = None) -> Reply:
        return {"ok": True}

    with pytest.raises(RuntimeError, match="send"):
        handles("send", bucket="send")(again)


class Limits:
    def __init__(self) -> None:
        self.spent: list[tuple[str, Bucket]] = []
        self.empty = False

    async def spend(self, user_id: str, kind: Bucket) -> None:
        if self.empty:
            raise CommandError("rate_limited", "too many", retry_after=1.5)
        self.spent.append((user_id, kind))


def namespace(limits: Any, metrics: GatewayMetrics) -> ChatNamespace:
    """A namespace whose only collaborators are the limits and the metrics: what the
    registry's acknowledgement uses before a handler runs."""
    unused: Any = SimpleNamespace(gate=DeliveryGate())
    ns = ChatNamespace(
        unused, unused, unused, unused, unused, unused, unused, unused, limits, metrics
    )

    async def get_session(sid: str, namespace: str) -> dict[str, str]:
        return {"user_id": "ann", "username": "Ann"}

    ns.server = SimpleNamespace(get_session=get_session)
    return ns


async def test_a_refusal_is_acknowledged_with_its_code_and_counted() -> None:
    limits, metrics = Limits(), GatewayMetrics()
    ns = namespace(limits, metrics)
    reply = await ns.trigger_event("send", "s1", {"group_id": "g", "client_msg_id": "c1"})
    assert reply["ok"] is False and reply["error"]["code"] == "invalid_payload"
    assert reply["client_msg_id"] == "c1", "a refused send names the message it refuses"
    assert limits.spent == [("ann", "send")], "the token is taken before anything else"
    refused = {"event": "send", "code": "invalid_payload"}
    assert metrics.registry.get_sample_value("chat_gateway_refusals_total", refused) == 1

    limits.empty = True
    reply = await ns.trigger_event("typing", "s1", {"group_id": "g"})
    assert reply == {
        "ok": False,
        "error": {"code": "rate_limited", "message": "too many", "retry_after": 1.5},
    }


async def test_an_event_no_one_handles_is_acknowledged_with_nothing() -> None:
    ns = namespace(Limits(), GatewayMetrics())
    assert await ns.trigger_event("no_such_event", "s1", {}) is None
