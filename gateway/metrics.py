"""The gateway node's Prometheus metrics, in a registry of its own (one per app, so several
nodes in one process, as in the tests, each count their own)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.sockets = Gauge(
            "chat_gateway_sockets", "Sockets connected to this node", registry=registry
        )
        self.events = Counter(
            "chat_gateway_events", "Client events handled, by event", ["event"], registry=registry
        )
        self.refusals = Counter(
            "chat_gateway_refusals",
            "Client events refused, by event and code",
            ["event", "code"],
            registry=registry,
        )
        self.ack_seconds = Histogram(
            "chat_gateway_ack_seconds",
            "From a client event's arrival to its acknowledgement, by event",
            ["event"],
            buckets=ACK_BUCKETS,
            registry=registry,
        )
        self.facts = Counter(
            "chat_gateway_facts",
            "Facts read from the event log by this node, by type",
            ["type"],
            registry=registry,
        )
        self.message_age = Histogram(
            "chat_gateway_message_age_seconds",
            "From a message's decision (its saved_at) to this node reading it in the log, just "
            "before it is sent to the group's sockets here: the commit and the log's delay",
            buckets=ACK_BUCKETS,
            registry=registry,
        )
        self.log_lag = Gauge(
            "chat_gateway_log_lag",
            "Committed records of the event log this node has not read yet, by partition",
            ["partition"],
            registry=registry,
        )
        self.redis_listener = Gauge(
            "chat_gateway_redis_listener_up",
            "1 while the Socket.IO Redis manager listens for other nodes' broadcasts",
            registry=registry,
        )
        self._handled: dict[str, tuple[Any, Any]] = {}
        self._facts: dict[str, Any] = {}

    def handled(self, event: str) -> tuple[Any, Any]:
        """The event's count and acknowledgement-time series, looked up once: ``labels()``
        on every event was a thirtieth of a busy node's CPU."""
        series = self._handled.get(event)
        if series is None:
            series = self._handled[event] = (
                self.events.labels(event=event),
                self.ack_seconds.labels(event=event),
            )
        return series

    def fact_read(self, fact_type: str) -> Any:
        """The count of facts of the type read from the log (looked up once, as ``handled``)."""
        series = self._facts.get(fact_type)
        if series is None:
            series = self._facts[fact_type] = self.facts.labels(type=fact_type)
        return series
