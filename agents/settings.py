"""Settings of the agent worker, from the environment."""

from __future__ import annotations

from pydantic import Field

from records.settings import KafkaSettings, MongoSettings


class Settings(KafkaSettings, MongoSettings):
    app_id: str = Field(default="chat-agents", validation_alias="AGENTS_APP_ID")
    batch_size: int = Field(default=500, ge=1, validation_alias="AGENTS_BATCH_SIZE")
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
