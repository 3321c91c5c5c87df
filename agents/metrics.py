"""The agent worker's Prometheus metrics, in a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

COMMIT_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class AgentsMetrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.decided = Counter(
            "chat_agents_decided_requests", "Requests decided and committed", registry=registry
        )
        self.facts = Counter(
            "chat_agents_facts", "Facts committed to the event log", registry=registry
        )
        self.dead_letters = Counter(
            "chat_agents_dead_letters", "Requests set aside to the dead-letter topic",
            registry=registry,
        )  # fmt: skip
        self.commit_seconds = Histogram(
            "chat_agents_commit_seconds",
            "Duration of a partition's transaction (facts, answers, offsets)",
            buckets=COMMIT_BUCKETS,
            registry=registry,
        )
        self.request_lag = Gauge(
            "chat_agents_request_lag",
            "Requests of a partition this worker has not decided yet (consumer lag)",
            ["partition"],
            registry=registry,
        )
        self.projection_lag = Gauge(
            "chat_agents_projection_lag",
            "Facts of a partition of the log not yet written to the views",
            ["partition"],
            registry=registry,
        )
        self.projected = Counter(
            "chat_agents_projected_facts", "Facts written to the views", registry=registry
        )
