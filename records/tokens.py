"""JSON Web Tokens as auth issues them and every service verifies them.

The claim set is a contract between auth (which signs) and the gateway (which verifies
locally, without a call per connection), so both sides live here. The verifier pins the
algorithm and requires every claim: a token without ``exp`` or ``aud`` is refused, not
trusted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt

from records.settings import JwtSettings

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]
_REQUIRED_CLAIMS = ["sub", "exp", "iat", "iss", "aud", "jti", "typ", "name"]


class InvalidToken(Exception):
    """A token that must not be trusted; ``code`` says why in a stable word."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    username: str
    token_type: TokenType
    token_id: str
    issued_at: datetime
    expires_at: datetime


def issue_token(
    settings: JwtSettings,
    *,
    user_id: str,
    username: str,
    token_type: TokenType,
    ttl: timedelta,
    now: datetime | None = None,
) -> tuple[str, TokenClaims]:
    """Sign a token of ``token_type`` for the user, valid for ``ttl``."""
    # Milliseconds kept: a revocation at a moment must tell tokens issued just before it from
    # those issued just after, in the same second (``records.revocations``).
    moment = now or datetime.now(UTC)
    issued_at = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    claims = TokenClaims(
        user_id=user_id,
        username=username,
        token_type=token_type,
        token_id=uuid.uuid4().hex,
        issued_at=issued_at,
        expires_at=issued_at + ttl,
    )
    payload = {
        "sub": user_id,
        "name": username,
        "typ": token_type,
        "jti": claims.token_id,
        "iat": round(issued_at.timestamp(), 3),
        "exp": round(claims.expires_at.timestamp(), 3),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    token = jwt.encode(payload, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)
    return token, claims


def verify_token(
    settings: JwtSettings, token: str, expected_type: TokenType = "access"
) -> TokenClaims:
    """Return the claims of a valid token of ``expected_type``, else raise ``InvalidToken``."""
    if not token or not isinstance(token, str):
        raise InvalidToken("token_missing", "an access token is required")
    try:
        payload = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": _REQUIRED_CLAIMS, "verify_signature": True},
            leeway=5,
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token_expired", "the token has expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("token_invalid", f"the token is not valid: {exc}") from exc
    if payload["typ"] != expected_type:
        raise InvalidToken("token_invalid", f"expected an {expected_type} token")
    return TokenClaims(
        user_id=str(payload["sub"]),
        username=str(payload["name"]),
        token_type=payload["typ"],
        token_id=str(payload["jti"]),
        issued_at=datetime.fromtimestamp(payload["iat"], UTC),
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
    )
