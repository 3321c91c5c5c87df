from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from agents.settings import Settings as AgentSettings
from gateway.settings import Settings as GatewaySettings
from records.settings import KafkaSettings


def test_bootstrap_servers_accept_the_kafka_scheme() -> None:
    settings = KafkaSettings(kafka_url="kafka://a:9092, b:9093")
    assert settings.bootstrap_servers == "a:9092,b:9093"
    assert settings.faust_broker == "kafka://a:9092;kafka://b:9093"


def test_topic_names_carry_the_prefix() -> None:
    topics = KafkaSettings(kafka_url="a:1", topic_prefix="run1.").topics
    assert topics.requests == "run1.chat.group-requests"
    names = {topics.requests, topics.events, topics.replies, topics.dead_letter}
    assert len(names) == 4 and all(name.startswith("run1.") for name in names)


def test_a_missing_required_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_URL", "MONGODB_URI", "REDIS_URL", "JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError) as caught:
        GatewaySettings()  # type: ignore[call-arg]
    missing = {err["loc"][0] for err in caught.value.errors()}
    assert missing == {"kafka_url", "mongodb_uri", "redis_url", "jwt_secret"}


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_URL", "k:1")
    monkeypatch.setenv("MONGODB_URI", "mongodb://m/")
    monkeypatch.setenv("AGENTS_BATCH_SIZE", "7")
    settings = AgentSettings()  # type: ignore[call-arg]
    assert (settings.kafka_url, settings.batch_size) == ("k:1", 7)


def test_a_short_jwt_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="jwt_secret"):
        GatewaySettings(
            kafka_url="k", mongodb_uri="m", redis_url="r", jwt_secret=SecretStr("short")
        )
