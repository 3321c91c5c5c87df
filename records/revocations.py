"""Revoked sessions, between auth and the gateways, over Redis: the one contract both read.

When auth sees a stolen refresh token used, it revokes the person's sessions: it records,
under ``revoked_key``, the moment (Unix seconds) before which their access tokens no longer
open a socket, for as long as such a token can live, and publishes the same on
``channel`` so every gateway node closes the person's sockets opened with those tokens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

DEFAULT_CHANNEL = "chat-revocations"


def revoked_key(channel: str, user_id: str) -> str:
    return f"{channel}:user:{user_id}"


@dataclass(frozen=True)
class SessionsRevoked:
    user_id: str
    before: float
    """Access tokens issued before this moment (Unix seconds) are no longer honoured."""

    def to_json(self) -> str:
        return json.dumps({"user_id": self.user_id, "before": self.before})

    @classmethod
    def from_json(cls, raw: str | bytes) -> SessionsRevoked:
        data = json.loads(raw)
        return cls(user_id=str(data["user_id"]), before=float(data["before"]))
