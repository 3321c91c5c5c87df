"""Settings of the auth service, read from the environment (``MONGODB_URI``, ``JWT_SECRET``...)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import NoDecode

from records.settings import JwtSettings, MongoSettings


class Settings(MongoSettings, JwtSettings):
    # The service-prefixed names come first so a shared .env can hold every service's port.
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("AUTH_HOST", "host"))
    port: int = Field(default=8081, validation_alias=AliasChoices("AUTH_PORT", "port"))
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("AUTH_CORS_ORIGINS", "cors_origins"),
        description="Browser origins allowed to call the API; comma-separated in the environment",
    )

    access_token_ttl: int = Field(default=900, gt=0, description="seconds")
    refresh_token_ttl: int = Field(default=14 * 24 * 3600, gt=0, description="seconds")
    max_body_bytes: int = Field(default=16 * 1024, gt=0)
    mongodb_timeout_ms: int = Field(default=5000, gt=0, description="server selection timeout")

    # argon2id; the defaults are argon2-cffi's (RFC 9106 "low memory" profile).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost: int = Field(default=65536, ge=8, description="KiB")
    argon2_parallelism: int = Field(default=4, ge=1)
    argon2_max_concurrent: int = Field(
        default=4, ge=1, description="hashes computed at once; bounds memory under a login flood"
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value
