"""The auth service's Prometheus metrics, in a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class AuthMetrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.logins = Counter(
            "chat_auth_logins",
            "Login attempts by outcome: ok, invalid (wrong credentials), throttled, busy",
            ["outcome"],
            registry=registry,
        )
        self.registrations = Counter(
            "chat_auth_registrations", "Accounts registered", registry=registry
        )
        self.refreshes = Counter(
            "chat_auth_refreshes",
            "Refresh-token exchanges by outcome: ok, retried (within the grace), reused "
            "(sessions revoked), invalid",
            ["outcome"],
            registry=registry,
        )
        self.hashing_queue = Gauge(
            "chat_auth_argon2_waiting", "Password hashes waiting for a slot", registry=registry
        )
