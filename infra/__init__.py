"""Local infrastructure runner: Kafka, a MongoDB-protocol server and Redis for dev and tests.

``./dev up`` runs everything; ``./dev test`` runs pytest against servers on free ports. The
pieces are importable so test fixtures can start services the same way:

    from infra import ManagedProcess, start_agents_worker, auth_service, gateway_service
"""

from __future__ import annotations

from infra.checks import http_ok, kafka_metadata, log_contains, mongo_ping, redis_ping
from infra.paths import REPO_ROOT, free_port
from infra.processes import ManagedProcess, ProcessFailed, ReadyCheck
from infra.services import (
    AGENTS_READY,
    agents_worker,
    auth_service,
    gateway_service,
    start_agents_worker,
)
from infra.stack import Infra, InfraPorts, start_infra

__all__ = [
    "AGENTS_READY",
    "REPO_ROOT",
    "Infra",
    "InfraPorts",
    "ManagedProcess",
    "ProcessFailed",
    "ReadyCheck",
    "agents_worker",
    "auth_service",
    "free_port",
    "gateway_service",
    "http_ok",
    "kafka_metadata",
    "log_contains",
    "mongo_ping",
    "redis_ping",
    "start_agents_worker",
    "start_infra",
]
