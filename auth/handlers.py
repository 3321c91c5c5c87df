"""HTTP handlers: register, login, refresh, me, healthz."""

from __future__ import annotations

import json
import logging
import math
from datetime import timedelta
from typing import Any

from aiohttp import web

from auth.errors import ApiError
from auth.passwords import PasswordsBusy
from auth.refresh_tokens import Consumed
from auth.schemas import (
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    RequestInvalid,
    RequestT,
    parse_request,
)
from auth.typedefs import (
    account_throttle_key,
    address_throttle_key,
    metrics_key,
    passwords_key,
    refresh_tokens_key,
    revocations_key,
    settings_key,
    users_key,
)
from auth.users import User, UsernameTaken
from records.tokens import InvalidToken, TokenClaims, issue_token, verify_token

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

_BEARER = {"WWW-Authenticate": 'Bearer realm="chat"'}


async def read_request(request: web.Request, model: type[RequestT]) -> RequestT:
    """The body as ``model``: 400 if it is not a JSON object, 422 if its fields are wrong."""
    raw = await request.read()  # aiohttp answers 413 past client_max_size
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # includes UnicodeDecodeError
        raise ApiError(400, "invalid_json", "the request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    try:
        return parse_request(model, data)
    except RequestInvalid as exc:
        raise ApiError(422, "validation_error", str(exc), fields=exc.fields) from exc


async def issue_pair(app: web.Application, user: User) -> dict[str, Any]:
    """A fresh access token and a fresh, recorded refresh token for ``user``."""
    settings = app[settings_key]
    access_token, _ = issue_token(
        settings,
        user_id=user.user_id,
        username=user.username,
        token_type="access",
        ttl=timedelta(seconds=settings.access_token_ttl),
    )
    refresh_token, refresh_claims = issue_token(
        settings,
        user_id=user.user_id,
        username=user.username,
        token_type="refresh",
        ttl=timedelta(seconds=settings.refresh_token_ttl),
    )
    await app[refresh_tokens_key].add(refresh_claims)
    return {
        "access_token": access_token,
        "refresh_token": refresh_token,
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl,
    }


@routes.post("/register")
async def register(request: web.Request) -> web.Response:
    body = await read_request(request, RegisterRequest)
    password_hash = await request.app[passwords_key].hash(body.password)
    try:
        user = await request.app[users_key].add(body.username, password_hash)
    except UsernameTaken as exc:
        raise ApiError(409, "username_taken", "that username is already taken") from exc
    log.info("registered user %s", user.user_id)
    request.app[metrics_key].registrations.inc()
    return web.json_response({"user_id": user.user_id, "username": user.username}, status=201)


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    body = await read_request(request, LoginRequest)
    users, passwords = request.app[users_key], request.app[passwords_key]
    metrics = request.app[metrics_key]
    account = body.username.casefold()
    address = client_address(request)
    accounts, addresses = request.app[account_throttle_key], request.app[address_throttle_key]
    wait = max(accounts.wait_for(account), addresses.wait_for(address))
    if wait > 0:
        metrics.logins.labels(outcome="throttled").inc()
        raise ApiError(
            429,
            "too_many_attempts",
            f"too many failed sign-ins; try again in {math.ceil(wait)} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    user = await users.by_username(body.username)
    # Same work and same answer whether the user is missing or the password is wrong.
    try:
        matches = await passwords.verify(user.password_hash if user else None, body.password)
    except PasswordsBusy:
        metrics.logins.labels(outcome="busy").inc()
        raise
    if user is None or not matches:
        accounts.failed(account)
        addresses.failed(address)
        metrics.logins.labels(outcome="invalid").inc()
        raise ApiError(401, "invalid_credentials", "invalid username or password")
    accounts.succeeded(account)
    metrics.logins.labels(outcome="ok").inc()
    if passwords.needs_rehash(user.password_hash):
        new_hash = await passwords.hash(body.password)
        await users.replace_password_hash(user.user_id, user.password_hash, new_hash)
    await request.app[refresh_tokens_key].purge_expired(user.user_id)
    return web.json_response(await issue_pair(request.app, user))


@routes.post("/refresh")
async def refresh(request: web.Request) -> web.Response:
    body = await read_request(request, RefreshRequest)
    try:
        claims = verify_token(request.app[settings_key], body.refresh_token, "refresh")
    except InvalidToken as exc:
        raise ApiError(401, exc.code, exc.message) from exc
    refresh_tokens = request.app[refresh_tokens_key]
    address = client_address(request)
    consumed = await refresh_tokens.consume(
        claims.token_id, address, grace=request.app[settings_key].refresh_reuse_grace
    )
    metrics = request.app[metrics_key]
    if consumed is Consumed.RETRIED:
        log.info("refresh token of user %s presented again within the grace", claims.user_id)
    if consumed is Consumed.REUSED:
        metrics.refreshes.labels(outcome="reused").inc()
        revoked = await refresh_tokens.revoke_all(claims.user_id)
        await request.app[revocations_key].revoke(claims.user_id)
        log.warning(
            "refresh token reused for user %s; revoked %d refresh tokens and the open sockets",
            claims.user_id,
            revoked,
        )
        raise ApiError(401, "token_invalid", "the refresh token has already been used")
    if consumed is Consumed.UNKNOWN:
        metrics.refreshes.labels(outcome="invalid").inc()
        raise ApiError(401, "token_invalid", "the refresh token is not known")
    user = await request.app[users_key].by_id(claims.user_id)
    if user is None:
        metrics.refreshes.labels(outcome="invalid").inc()
        raise ApiError(401, "token_invalid", "the user no longer exists")
    outcome = "retried" if consumed is Consumed.RETRIED else "ok"
    metrics.refreshes.labels(outcome=outcome).inc()
    return web.json_response(await issue_pair(request.app, user))


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    """Spend the session's refresh token, so it can no longer be exchanged. Access tokens
    stay valid until they expire (minutes); the gateway closes sockets at that moment."""
    body = await read_request(request, RefreshRequest)
    try:
        claims = verify_token(request.app[settings_key], body.refresh_token, "refresh")
    except InvalidToken as exc:
        if exc.code != "token_expired":
            raise ApiError(401, exc.code, exc.message) from exc
        return web.Response(status=204)  # an expired token is spent already
    await request.app[refresh_tokens_key].revoke(claims.token_id)
    return web.Response(status=204)


def client_address(request: web.Request) -> str:
    """Who is asking: the peer, or, behind a trusted proxy, the address that proxy saw (the
    last X-Forwarded-For entry: it is the one the proxy appended; those before it are the
    client's own word, and would let anyone pick the address their failures count against)."""
    if request.app[settings_key].trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return request.remote or "unknown"


def bearer_token(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "token_missing", "an access token is required", headers=_BEARER)
    return token.strip()


def authenticate(request: web.Request) -> TokenClaims:
    """The claims of the request's valid access token, else a 401."""
    try:
        return verify_token(request.app[settings_key], bearer_token(request), "access")
    except InvalidToken as exc:
        raise ApiError(401, exc.code, exc.message, headers=_BEARER) from exc


@routes.get("/users")
async def find_user(request: web.Request) -> web.Response:
    """``?username=`` or ``?user_id=`` → ``{user_id, username}``: how one user finds
    another (to invite them), for any signed-in user."""
    authenticate(request)
    users = request.app[users_key]
    if username := request.query.get("username"):
        user = await users.by_username(username)
    elif user_id := request.query.get("user_id"):
        user = await users.by_id(user_id)
    else:
        raise ApiError(422, "validation_error", "give username or user_id")
    if user is None:
        raise ApiError(404, "user_not_found", "there is no such user")
    return web.json_response({"user_id": user.user_id, "username": user.username})


@routes.get("/me")
async def me(request: web.Request) -> web.Response:
    claims = authenticate(request)
    user = await request.app[users_key].by_id(claims.user_id)
    if user is None:
        raise ApiError(401, "token_invalid", "the user no longer exists", headers=_BEARER)
    return web.json_response(
        {
            "user_id": user.user_id,
            "username": user.username,
            "created_at": user.created_at.isoformat(),
        }
    )
