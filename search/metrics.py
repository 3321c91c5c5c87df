"""The search service's Prometheus metrics, in a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

SEARCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2)
DELAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600)


class SearchMetrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.facts = Counter(
            "chat_search_facts",
            "Facts of the event log read by the follower, by type (unreadable: skipped)",
            ["type"],
            registry=registry,
        )
        self.messages = Counter(
            "chat_search_messages",
            "Changes written to the index: indexed, edited, deleted",
            ["change"],
            registry=registry,
        )
        self.log_lag = Gauge(
            "chat_search_log_lag",
            "Records of a partition of the event log not yet applied to the index",
            ["partition"],
            registry=registry,
        )
        self.index_delay = Histogram(
            "chat_search_index_delay_seconds",
            "From a message's saved_at to its round committed to the index (findable)",
            buckets=DELAY_BUCKETS,
            registry=registry,
        )
        self.round_seconds = Histogram(
            "chat_search_round_seconds",
            "Duration of a round's transaction (its facts and the log's position)",
            buckets=SEARCH_BUCKETS,
            registry=registry,
        )
        self.purges = Counter(
            "chat_search_purges", "Merges of the index that drop deleted words", registry=registry
        )
        self.purge_owed = Gauge(
            "chat_search_purge_owed_seconds",
            "Age of the oldest delete whose words still wait in old segments (0: none)",
            registry=registry,
        )
        self.searches = Counter(
            "chat_search_searches",
            "Searches answered, by outcome: ok, invalid_payload, invalid_query, timeout",
            ["outcome"],
            registry=registry,
        )
        self.search_seconds = Histogram(
            "chat_search_search_seconds",
            "Duration of a search in the index, by order",
            ["order"],
            buckets=SEARCH_BUCKETS,
            registry=registry,
        )
