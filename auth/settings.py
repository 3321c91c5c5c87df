"""Settings of the auth service, read from the environment (``MONGODB_URI``, ``JWT_SECRET``...)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import NoDecode

from records.revocations import DEFAULT_CHANNEL
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

    argon2_max_waiting: int = Field(
        default=32, ge=0, description="hashes queued at most; past it a sign-in gets 503 at once"
    )
    login_free_failures: int = Field(
        default=5, ge=1, description="failed logins of an account before each next one waits"
    )
    login_free_failures_per_address: int = Field(
        default=20, ge=1, description="failed logins from one address before each next one waits"
    )
    login_longest_wait: float = Field(
        default=900.0, gt=0, description="seconds: the cap of the doubling wait after failures"
    )
    trust_forwarded_for: bool = Field(
        default=False,
        description="take the client address from X-Forwarded-For (only behind a proxy that "
        "sets it)",
    )
    refresh_reuse_grace: float = Field(
        default=10.0,
        ge=0,
        description="seconds a used refresh token may be presented again from the same address "
        "(a retry after a lost answer) without being taken for a stolen one",
    )

    redis_url: str | None = Field(
        default=None,
        description="Redis the gateways share: revoked sessions are announced there, so the "
        "gateways close their sockets",
    )
    revocations_channel: str = Field(default=DEFAULT_CHANNEL)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value
