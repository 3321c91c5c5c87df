"""Settings of the agent worker, from the environment."""

from __future__ import annotations

from pydantic import Field

from records.settings import KafkaSettings, MongoSettings


class Settings(KafkaSettings, MongoSettings):
    app_id: str = Field(default="chat-agents", validation_alias="AGENTS_APP_ID")
    batch_size: int = Field(default=500, ge=1, validation_alias="AGENTS_BATCH_SIZE")
    batch_window: float = Field(default=0.05, gt=0, validation_alias="AGENTS_BATCH_WINDOW")
    retry_backoff_max: float = Field(default=5.0, gt=0)
    session_timeout: float = Field(
        default=30.0,
        ge=6.0,
        validation_alias="AGENTS_SESSION_TIMEOUT",
        description="Seconds before a silent worker's partitions go to another worker",
    )
