"""Settings of the agent worker, from the environment."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from records.settings import KafkaSettings, MongoSettings


class Settings(KafkaSettings, MongoSettings):
    app_id: str = Field(default="chat-agents", validation_alias="AGENTS_APP_ID")
    batch_size: int = Field(default=500, ge=1, validation_alias="AGENTS_BATCH_SIZE")
    commits_in_flight: int = Field(
        default=1,
        ge=1,
        validation_alias="AGENTS_COMMITS_IN_FLIGHT",
        description="Transactions a worker has open at once, whatever the partitions it owns: "
        "the others' requests gather meanwhile and go in their partition's next, fuller one. "
        "A transaction costs the broker the same for one request as for fifty (measured on 2 "
        "cores, 20x10 at 300 msg/s, 4 partitions: p50 0.6-2 s with one in flight per "
        "partition, the broker's core full)",
    )
    retry_backoff_max: float = Field(default=5.0, gt=0)
    instance_id: str = Field(
        default="",
        validation_alias="AGENTS_INSTANCE_ID",
        description="Static group membership: a worker restarted with the same id gets its "
        "partitions back at once, without waiting for its session to time out",
    )
    dedupe_window: int = Field(
        default=5000,
        ge=1,
        validation_alias="AGENTS_DEDUPE_WINDOW",
        description="Recent messages per group whose client_msg_id a resend is checked against",
    )
    snapshot_every: int = Field(
        default=50_000,
        ge=1,
        validation_alias="AGENTS_SNAPSHOT_EVERY",
        description="Facts folded into a partition's state between two snapshots of it",
    )
    projection_interval: float = Field(
        default=0.1,
        ge=0,
        validation_alias="AGENTS_PROJECTION_INTERVAL",
        description="Shortest time between two rounds of view writes, in seconds",
    )
    projection_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        validation_alias="AGENTS_PROJECTION_SHARE",
        description="Most of its time the projector spends writing views: a round that took "
        "t seconds is followed by a pause of t * (1 / share - 1) (at most a second), so under "
        "load the rounds grow (a page rewritten once for more messages) instead of taking "
        "MongoDB's every cycle from the live path",
    )
    max_attempts: int = Field(
        default=5,
        ge=1,
        validation_alias="AGENTS_MAX_ATTEMPTS",
        description="Tries of a batch before its requests are tried one by one, and twice as "
        "many before the one that fails is set aside in the dead-letter topic",
    )
    session_timeout: float = Field(
        default=30.0,
        ge=6.0,
        validation_alias="AGENTS_SESSION_TIMEOUT",
        description="Seconds before a silent worker's partitions go to another worker",
    )

    @property
    def heartbeat_interval(self) -> float:
        """A rebalance reaches a worker with its next heartbeat's answer: every second, so
        that partitions a stopped worker hands over are taken within one (Kafka's default,
        three, made the handover three seconds)."""
        return min(1.0, self.session_timeout / 3)

    def group_consumer(self, loop: str) -> dict[str, Any]:
        """aiokafka consumer options of one of the worker's loops: its own consumer group,
        static membership when the worker has an instance id, committed records only."""
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "group_id": f"{self.app_id}-{loop}",
            "group_instance_id": f"{self.instance_id}-{loop}" if self.instance_id else None,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "isolation_level": "read_committed",
            "session_timeout_ms": int(self.session_timeout * 1000),
            "heartbeat_interval_ms": int(self.heartbeat_interval * 1000),
        }
