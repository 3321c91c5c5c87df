"""A socket's life on this node: admitted at ``connect`` with a valid token, closed when its
token expires or its person's sessions are revoked, forgotten at ``disconnect``."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import socketio

from gateway import client_events
from gateway.handling.namespace import ChatNamespace, on_connection
from gateway.revocations import is_revoked
from gateway.rooms import user_room
from records.revocations import SessionsRevoked
from records.tokens import InvalidToken, verify_token

log = logging.getLogger(__name__)


@on_connection("connect")
async def connect(ns: ChatNamespace, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
    try:
        await _admit(ns, sid, auth)
    except socketio.exceptions.ConnectionRefusedError as exc:
        data = exc.error_args.get("data")
        code = data.get("code", "refused") if isinstance(data, dict) else "refused"
        ns.metrics.refusals.labels(event="connect", code=code).inc()
        raise


async def _admit(ns: ChatNamespace, sid: str, auth: Any) -> None:
    """Check the token, the person's revocations and socket count; then the socket is
    theirs (session, own room, presence, expiry)."""
    token = auth.get("token") if isinstance(auth, dict) else None
    try:
        claims = verify_token(ns.settings, token or "", "access")
    except InvalidToken as exc:
        raise socketio.exceptions.ConnectionRefusedError(exc.message, {"code": exc.code}) from None
    channel = ns.settings.revocations_channel
    issued_at = claims.issued_at.timestamp()
    if await is_revoked(ns.presence.redis, channel, claims.user_id, issued_at):
        raise socketio.exceptions.ConnectionRefusedError(
            "this session was revoked: sign in again", {"code": "token_revoked"}
        )
    await _check_socket_count(ns, claims.user_id)
    await ns.save_session(
        sid, {"user_id": claims.user_id, "username": claims.username, "issued_at": issued_at}
    )
    ns.gate.connected(sid, claims.user_id)
    # Only the user's own room: a group's messages flow once the socket joins it, so that
    # a reconnecting client gets what it missed (join with since_seq) before live ones.
    await ns.enter_room(sid, user_room(claims.user_id))
    try:
        await ns.presence.arrived(sid, claims.user_id, claims.username)
    except Exception:  # noqa: BLE001 - chat works without presence while Redis is away
        log.exception("could not record the arrival of %s", sid)
    delay = (claims.expires_at - datetime.now(UTC)).total_seconds()
    ns.expiries[sid] = asyncio.get_running_loop().call_later(
        max(delay, 0), lambda: asyncio.ensure_future(_expire(ns, sid))
    )


async def _check_socket_count(ns: ChatNamespace, user_id: str) -> None:
    try:
        count = await ns.presence.sockets_of(user_id)
    except Exception:  # noqa: BLE001 - without Redis the count is unknown: let it in
        log.exception("could not count the sockets of %s", user_id)
        return
    if count >= ns.settings.max_sockets_per_user:
        raise socketio.exceptions.ConnectionRefusedError(
            f"at most {ns.settings.max_sockets_per_user} connections a person; close one",
            {"code": "too_many_sockets"},
        )


async def revoke_sessions(ns: ChatNamespace, event: SessionsRevoked) -> None:
    """Close the person's sockets here that were opened with a token now revoked."""
    for sid in ns.gate.sockets_of(event.user_id):
        session = await ns.get_session(sid)
        if session.get("issued_at", 0) < event.before:
            name, payload = client_events.session_revoked()
            await ns.emit(name, payload, to=sid, ignore_queue=True)
            await ns.disconnect(sid)


async def _expire(ns: ChatNamespace, sid: str) -> None:
    """A socket lives no longer than its token: the client reconnects with a fresh one
    and recovers with ``join`` + ``since_seq``, losing nothing."""
    name, payload = client_events.session_expired()
    await ns.emit(name, payload, to=sid, ignore_queue=True)
    await ns.disconnect(sid)


@on_connection("disconnect")
async def disconnect(ns: ChatNamespace, sid: str, reason: Any = None) -> None:
    if (expiry := ns.expiries.pop(sid, None)) is not None:
        expiry.cancel()
    ns.gate.disconnected(sid)
    for key in [key for key in ns.typed_at if key[0] == sid]:
        del ns.typed_at[key]
    try:
        await ns.presence.departed(sid)
    except Exception:  # noqa: BLE001 - entries expire on their own if Redis is away
        log.exception("could not record the departure of %s", sid)
