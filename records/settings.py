"""Settings shared by the services, read from the environment.

Each service composes its own ``Settings`` class from these mixins, so a variable such as
``KAFKA_URL`` means the same thing everywhere. Required values have no default: a service
started without one fails at once, naming the variable.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from records.topics import Topics


class ServiceSettings(BaseSettings):
    """Base for every settings class: environment only, immutable once read."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class MongoSettings(ServiceSettings):
    mongodb_uri: str = Field(description="MongoDB connection string, e.g. mongodb://host:27017/")
    mongodb_database: str = "chat"


class KafkaSettings(ServiceSettings):
    kafka_url: str = Field(description="Kafka bootstrap servers: host:port[,host:port]")
    topic_prefix: str = ""
    topic_partitions: int = Field(
        default=1,
        ge=1,
        description="Partitions of the requests and events topics, when they are created (they "
        "cannot change after): the most agent workers that can share the work, so a deployment "
        "that will grow sets it to the workers it may ever run. Each partition costs the broker "
        "even when one worker owns them all (measured on 2 cores, 20x10 at 300 msg/s: p50 61 ms "
        "with 1, 0.25-0.7 s with 2, 0.4-2 s with 4): one for a single machine",
    )
    topic_replication: int | None = Field(
        default=None,
        ge=1,
        description="Replicas of each chat topic, when it is created: by default 3 where the "
        "cluster has three brokers or more (with min.insync.replicas 2, so a broker may go "
        "without an acknowledged write being lost or writes stopping), else 1",
    )
    requests_retention_hours: float = Field(
        default=168,
        gt=0,
        description="How long the requests and dead-letter topics keep a record, when they are "
        "created: a deleted message's body must not outlive it there (the event log is kept "
        "forever)",
    )
    erase_within_hours: float = Field(
        default=24,
        gt=0,
        description="How long a deleted message's keys may stay in the keys topic before "
        "compaction removes them (its max.compaction.lag.ms): after that, nothing can open the "
        "message's bodies in the event log",
    )

    @property
    def bootstrap_servers(self) -> str:
        """The broker list without the ``kafka://`` scheme, as aiokafka wants it."""
        return ",".join(
            server.strip().removeprefix("kafka://")
            for server in self.kafka_url.split(",")
            if server.strip()
        )

    @property
    def faust_broker(self) -> str:
        """The broker list as Faust wants it: ``kafka://host:port;kafka://host:port``."""
        return ";".join(f"kafka://{server}" for server in self.bootstrap_servers.split(","))

    @property
    def topics(self) -> Topics:
        return Topics(prefix=self.topic_prefix)


class JwtSettings(ServiceSettings):
    jwt_secret: SecretStr = Field(min_length=32, description="HMAC key shared by auth and gateway")
    jwt_issuer: str = "chat-auth"
    jwt_audience: str = "chat"
