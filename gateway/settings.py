"""Settings of a gateway node, from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from gateway.limits import Bucket, Limit
from records.revocations import DEFAULT_CHANNEL
from records.settings import JwtSettings, KafkaSettings, MongoSettings


class Settings(KafkaSettings, MongoSettings, JwtSettings):
    redis_url: str = Field(description="Redis for the Socket.IO manager shared by all nodes")
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("GATEWAY_HOST", "host"))
    port: int = Field(default=8080, validation_alias=AliasChoices("GATEWAY_PORT", "port"))
    auth_service_url: str = Field(
        default="http://127.0.0.1:8081", description="auth as the gateway reaches it"
    )
    search_url: str = Field(
        default="http://127.0.0.1:8070", description="the search service as the gateway reaches it"
    )
    search_timeout: float = Field(
        default=5.0, gt=0, description="Seconds a search waits for the search service's answer"
    )
    public_auth_url: str | None = Field(
        default=None, description="auth as browsers reach it (default: auth_service_url)"
    )

    @property
    def browser_auth_url(self) -> str:
        return self.public_auth_url or self.auth_service_url

    cors_origins: list[str] = Field(default_factory=list)
    socketio_channel: str = Field(
        default="chat-socketio",
        validation_alias=AliasChoices("GATEWAY_SOCKETIO_CHANNEL", "socketio_channel"),
    )
    send_timeout: float = Field(default=10.0, gt=0)
    request_timeout: float = Field(default=15.0, gt=0)
    send_rate: float = Field(
        default=20.0, gt=0, description="Messages a person may send per second, sustained"
    )
    send_burst: int = Field(default=100, ge=1, description="Messages a person may send at once")
    change_rate: float = Field(
        default=5.0, gt=0, description="Changes (create, invite, leave, edit …) a second"
    )
    change_burst: int = Field(default=30, ge=1, description="Changes a person may make at once")
    read_rate: float = Field(
        default=20.0, gt=0, description="Reads and joins (history, groups …) a second"
    )
    read_burst: int = Field(default=200, ge=1, description="Reads a person may make at once")
    search_rate: float = Field(default=2.0, gt=0, description="Searches a second")
    search_burst: int = Field(default=10, ge=1, description="Searches a person may make at once")
    direct_rate: float = Field(
        default=20 / 60, gt=0, description="Direct conversations opened a second (20 a minute)"
    )
    direct_burst: int = Field(
        default=20, ge=1, description="Direct conversations a person may open at once"
    )
    reaction_rate: float = Field(default=10.0, gt=0, description="Reactions a second")
    reaction_burst: int = Field(default=30, ge=1, description="Reactions a person may make at once")
    quote_cache_size: int = Field(
        default=5000,
        ge=0,
        description="Recent messages whose sender and first words a node keeps, for the quotes "
        "of live replies (a reply to an older one reads its original from the views)",
    )
    admission_lag: float = Field(
        default=0.5,
        ge=0,
        validation_alias=AliasChoices("GATEWAY_ADMISSION_LAG", "admission_lag"),
        description="Seconds messages may take from send to a socket here, or this node's "
        "event loop may run late, before new sends are refused with unavailable and "
        "retry_after (gateway.admission); 0 admits every send",
    )
    recent_events: int = Field(
        default=50_000,
        ge=0,
        validation_alias=AliasChoices("GATEWAY_RECENT_EVENTS", "recent_events"),
        description="Newest messages and changes a node keeps of the groups it read last "
        "(200 a group at most), to fill a returning socket without waiting for the views",
    )
    typing_rate: float = Field(default=2.0, gt=0, description="Typing events a second")
    typing_burst: int = Field(default=10, ge=1, description="Typing events at once")
    max_queued_packets: int = Field(
        default=5000,
        ge=1,
        description="Packets queued for a socket that does not read before it is disconnected",
    )
    catch_up_limit: int = Field(
        default=500,
        ge=1,
        description="Missed messages a join sends at most; the client pages the rest by history",
    )
    max_invitations_per_user: int = Field(
        default=100,
        ge=1,
        description="Pending invitations a person may have, from every group together",
    )
    max_sockets_per_user: int = Field(
        default=20, ge=1, description="Sockets one person may have open, on all nodes together"
    )

    def limits(self) -> dict[Bucket, Limit]:
        return {
            "send": Limit(self.send_rate, self.send_burst),
            "change": Limit(self.change_rate, self.change_burst),
            "read": Limit(self.read_rate, self.read_burst),
            "marker": Limit(self.read_rate, self.read_burst),
            "typing": Limit(self.typing_rate, self.typing_burst),
            "search": Limit(self.search_rate, self.search_burst),
            "direct": Limit(self.direct_rate, self.direct_burst),
            "reaction": Limit(self.reaction_rate, self.reaction_burst),
        }

    typing_interval: float = Field(
        default=2.0, ge=0, description="Seconds between two relayed typing events of a socket"
    )
    gap_timeout: float = Field(
        default=15.0,
        gt=0,
        validation_alias=AliasChoices("GATEWAY_GAP_TIMEOUT", "gap_timeout"),
        description="Seconds a socket waits for the views to fill a hole in what it was sent, "
        "before it is disconnected to recover by join with since_seq",
    )
    view_wait: float = Field(
        default=2.0,
        ge=0,
        validation_alias=AliasChoices("GATEWAY_VIEW_WAIT", "view_wait"),
        description="Seconds a read waits for the views to reach what this node has seen",
    )
    websocket_compression: bool = Field(
        default=False,
        validation_alias=AliasChoices("GATEWAY_WEBSOCKET_COMPRESSION", "websocket_compression"),
        description="Accept permessage-deflate: fewer bytes on the wire, far more CPU a frame",
    )
    revocations_channel: str = Field(
        default=DEFAULT_CHANNEL, description="Where auth announces revoked sessions (Redis)"
    )
    presence_ttl: float = Field(
        default=30.0, gt=0, description="Seconds a socket stays online without a heartbeat"
    )
