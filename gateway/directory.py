"""Finding users by name or id, from auth (the owner of users), over HTTP.

The gateway signs its own short-lived access token with the shared JWT key, so this lookup
needs no user's token and no second secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp

from gateway.commands import CommandError
from gateway.settings import Settings
from records.tokens import issue_token

SERVICE_TOKEN_TTL = timedelta(minutes=5)


@dataclass(frozen=True)
class User:
    user_id: str
    username: str


class UserDirectory:
    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session
        self._token: tuple[str, datetime] | None = None

    async def find(self, *, username: str | None = None, user_id: str | None = None) -> User:
        query = {"username": username} if username else {"user_id": user_id or ""}
        url = f"{self.settings.auth_service_url.rstrip('/')}/users"
        headers = {"Authorization": f"Bearer {self._service_token()}"}
        try:
            async with self.session.get(url, params=query, headers=headers) as response:
                if response.status == 404:
                    raise CommandError("user_not_found", "there is no such user")
                response.raise_for_status()
                found = await response.json()
        except (aiohttp.ClientError, TimeoutError):
            raise CommandError("unavailable", "users cannot be looked up now; try again") from None
        return User(user_id=found["user_id"], username=found["username"])

    def _service_token(self) -> str:
        now = datetime.now(UTC)
        if self._token is None or self._token[1] - now < timedelta(minutes=1):
            token, claims = issue_token(
                self.settings,
                user_id="service-gateway",
                username="gateway",
                token_type="access",
                ttl=SERVICE_TOKEN_TTL,
                now=now,
            )
            self._token = (token, claims.expires_at)
        return self._token[0]
