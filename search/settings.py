"""Settings of the search service, from the environment (``KAFKA_URL``, ``SEARCH_DATA_DIR`` …)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, model_validator

from records.settings import KafkaSettings

INDEX_FILE = "messages.sqlite3"


def _env(name: str, field: str) -> AliasChoices:
    # The service-prefixed name first, so a shared .env can hold every service's port.
    return AliasChoices(f"SEARCH_{name}", field)


class Settings(KafkaSettings):
    host: str = Field(default="127.0.0.1", validation_alias=_env("HOST", "host"))
    port: int = Field(default=8070, validation_alias=_env("PORT", "port"))
    data_dir: Path = Field(
        default=Path(".data/search"),
        validation_alias=_env("DATA_DIR", "data_dir"),
        description="Where the index lives (one SQLite database and its WAL)",
    )
    purge_every_hours: float = Field(
        default=1.0,
        gt=0,
        validation_alias=_env("PURGE_EVERY_HOURS", "purge_every_hours"),
        description="Longest a deleted message's words stay in the engine's old segments: "
        "the index is merged into one segment (FTS5 'optimize') this long after the first "
        "delete not yet purged; at most erase_within_hours",
    )
    readers: int = Field(
        default=4,
        ge=1,
        validation_alias=_env("READERS", "readers"),
        description="SQLite connections answering searches at once (WAL: they read while "
        "the follower writes)",
    )
    relevance_window: int = Field(
        default=150,
        ge=1,
        validation_alias=_env("RELEVANCE_WINDOW", "relevance_window"),
        description="Matches ranked together by relevance: the caller's newest this many "
        "first, then the as many before them, page after page (bm25 is computed for every "
        "row ranked: over all of a common word's matches, a page would cost a scan of them "
        "all; measured over 1M messages, 10% the caller's, a common word: 9 ms a page at "
        "150, 15-25 at 250)",
    )
    query_timeout: float = Field(
        default=2.0,
        gt=0,
        validation_alias=_env("QUERY_TIMEOUT", "query_timeout"),
        description="Seconds a search may run before it is interrupted (answered 503)",
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        gt=0,
        validation_alias=_env("MAX_BODY_BYTES", "max_body_bytes"),
        description="Largest request accepted: a request may name up to 100,000 groups",
    )

    @model_validator(mode="after")
    def _purged_before_erased(self) -> Self:
        if self.purge_every_hours > self.erase_within_hours:
            raise ValueError(
                f"purge_every_hours ({self.purge_every_hours}) must be at most "
                f"erase_within_hours ({self.erase_within_hours}): a deleted message's words "
                "must leave the index as soon as its keys leave the log"
            )
        return self

    @property
    def index_path(self) -> Path:
        return self.data_dir / INDEX_FILE
