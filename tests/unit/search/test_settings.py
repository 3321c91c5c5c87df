from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from search.settings import Settings


def test_read_from_the_service_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_URL", "kafka:9092")
    monkeypatch.setenv("SEARCH_PORT", "9999")
    monkeypatch.setenv("SEARCH_DATA_DIR", "/var/lib/search")
    settings = Settings()  # type: ignore[call-arg]
    assert (settings.host, settings.port) == ("127.0.0.1", 9999)
    assert settings.index_path == Path("/var/lib/search/messages.sqlite3")


def test_deleted_words_are_purged_no_later_than_keys_are_erased() -> None:
    with pytest.raises(ValidationError, match="erase_within_hours"):
        Settings(kafka_url="k:1", erase_within_hours=2, purge_every_hours=3)
    assert Settings(kafka_url="k:1", erase_within_hours=2, purge_every_hours=2)
