"""The gateway's Socket.IO namespace: one method per client event, each answering with an
acknowledgement.

Queries (``groups``, ``members``, ``history``, ``presence``) read the projections directly.
Changes (``send``, ``create_group``, ``join``, ``invite``, ``leave``, ``remove_member``,
``edit``, ``delete``) become requests on Kafka; all but ``send`` wait for the agents' answer,
``send`` is acknowledged once Kafka has the message. Group handlers are in
``gateway.group_handlers``; what all handlers share is in ``gateway.handling``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

import socketio

from gateway.commands import (
    CommandError,
    DeleteCommand,
    EditCommand,
    HistoryCommand,
    InGroup,
    ReadCommand,
    SendCommand,
    check_body,
    parse,
)
from gateway.delivery import group_room, user_room
from gateway.group_handlers import GroupHandlers
from gateway.handling import Reply, acknowledged
from gateway.revocations import is_revoked
from records.base import split_message_id
from records.requests import (
    DeleteMessage,
    EditMessage,
    MarkRead,
    SendMessage,
)
from records.revocations import SessionsRevoked
from records.tokens import InvalidToken, verify_token

log = logging.getLogger(__name__)


class ChatNamespace(GroupHandlers):
    """The default namespace. The user is kept in the Socket.IO session after ``connect``."""

    # --- connection ---------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            await self._admit(sid, auth)
        except socketio.exceptions.ConnectionRefusedError as exc:
            data = exc.error_args.get("data")
            code = data.get("code", "refused") if isinstance(data, dict) else "refused"
            self.metrics.refusals.labels(event="connect", code=code).inc()
            raise

    async def _admit(self, sid: str, auth: Any) -> None:
        """Check the token, the person's revocations and socket count; then the socket is
        theirs (session, own room, presence, expiry)."""
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            claims = verify_token(self.settings, token or "", "access")
        except InvalidToken as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                exc.message, {"code": exc.code}
            ) from None
        channel = self.settings.revocations_channel
        issued_at = claims.issued_at.timestamp()
        if await is_revoked(self.presence.redis, channel, claims.user_id, issued_at):
            raise socketio.exceptions.ConnectionRefusedError(
                "this session was revoked: sign in again", {"code": "token_revoked"}
            )
        await self._check_socket_count(claims.user_id)
        await self.save_session(
            sid, {"user_id": claims.user_id, "username": claims.username, "issued_at": issued_at}
        )
        self.gate.connected(sid, claims.user_id)
        # Only the user's own room: a group's messages flow once the socket joins it, so that
        # a reconnecting client gets what it missed (join with since_seq) before live ones.
        await self.enter_room(sid, user_room(claims.user_id))
        try:
            await self.presence.arrived(sid, claims.user_id, claims.username)
        except Exception:  # noqa: BLE001 - chat works without presence while Redis is away
            log.exception("could not record the arrival of %s", sid)
        delay = (claims.expires_at - datetime.now(UTC)).total_seconds()
        self._expiries[sid] = asyncio.get_running_loop().call_later(
            max(delay, 0), lambda: asyncio.ensure_future(self._expire(sid))
        )

    async def _check_socket_count(self, user_id: str) -> None:
        try:
            count = await self.presence.sockets_of(user_id)
        except Exception:  # noqa: BLE001 - without Redis the count is unknown: let it in
            log.exception("could not count the sockets of %s", user_id)
            return
        if count >= self.settings.max_sockets_per_user:
            raise socketio.exceptions.ConnectionRefusedError(
                f"at most {self.settings.max_sockets_per_user} connections a person; close one",
                {"code": "too_many_sockets"},
            )

    async def revoked(self, event: SessionsRevoked) -> None:
        """Close the person's sockets here that were opened with a token now revoked."""
        for sid in self.gate.sockets_of(event.user_id):
            session = await self.get_session(sid)
            if session.get("issued_at", 0) < event.before:
                await self.emit("session_revoked", {"code": "token_revoked"}, to=sid,
                                ignore_queue=True)  # fmt: skip
                await self.disconnect(sid)

    async def _expire(self, sid: str) -> None:
        """A socket lives no longer than its token: the client reconnects with a fresh one
        and recovers with ``join`` + ``since_seq``, losing nothing."""
        await self.emit("session_expired", {"code": "token_expired"}, to=sid, ignore_queue=True)
        await self.disconnect(sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        if (expiry := self._expiries.pop(sid, None)) is not None:
            expiry.cancel()
        self.gate.disconnected(sid)
        for key in [key for key in self._typing if key[0] == sid]:
            del self._typing[key]
        try:
            await self.presence.departed(sid)
        except Exception:  # noqa: BLE001 - entries expire on their own if Redis is away
            log.exception("could not record the departure of %s", sid)

    # --- messages ---------------------------------------------------------------------

    @acknowledged
    async def on_send(self, sid: str, data: Any = None) -> Reply:
        command = parse(SendCommand, data)
        check_body(command.body)
        user = await self.get_session(sid)
        # A socket in the group's room is a member (removal takes it out at once); others
        # are checked against the projection. The agents decide for good either way.
        if not self.gate.follows(sid, command.group_id):
            await self._member_group(sid, user, command.group_id)
        await self.bus.submit(
            SendMessage(
                group_id=command.group_id,
                client_msg_id=command.client_msg_id,
                body=command.body,
                **self._actor(sid, user),
            )
        )
        return {"ok": True, "client_msg_id": command.client_msg_id}

    @acknowledged
    async def on_edit(self, sid: str, data: Any = None) -> Reply:
        command = parse(EditCommand, data)
        check_body(command.body)
        group_id, _ = split_message_id(command.message_id)
        user = await self.get_session(sid)
        await self._ask(
            EditMessage(
                group_id=group_id,
                message_id=command.message_id,
                body=command.body,
                **self._actor(sid, user),
            )
        )
        return {"ok": True, "message_id": command.message_id}

    @acknowledged
    async def on_delete(self, sid: str, data: Any = None) -> Reply:
        command = parse(DeleteCommand, data)
        group_id, _ = split_message_id(command.message_id)
        user = await self.get_session(sid)
        await self._ask(
            DeleteMessage(
                group_id=group_id, message_id=command.message_id, **self._actor(sid, user)
            )
        )
        return {"ok": True, "message_id": command.message_id}

    @acknowledged
    async def on_history(self, sid: str, data: Any = None) -> Reply:
        command = parse(HistoryCommand, data if data is not None else {})
        user = await self.get_session(sid)
        group = await self._member_group(sid, user, command.group_id)
        if command.after_seq is not None:
            messages, after = await self.reads.history_after(
                group, command.after_seq, command.limit
            )
            return {
                "ok": True,
                "group_id": group.group_id,
                "messages": messages,
                "next_after_seq": after,
            }
        messages, cursor = await self.reads.history(group, command.before_seq, command.limit)
        return {
            "ok": True,
            "group_id": group.group_id,
            "messages": messages,
            "next_before_seq": cursor,
        }

    @acknowledged
    async def on_read(self, sid: str, data: Any = None) -> Reply:
        """The caller has read the group up to ``seq``: coalesced (``gateway.markers``), then a
        request to the agents, who keep the marker monotonic and within the group."""
        command = parse(ReadCommand, data)
        user = await self.get_session(sid)
        group = await self.reads.group(command.group_id)
        if group is None:
            raise CommandError("group_not_found", f"there is no group {command.group_id!r}")
        if user["user_id"] not in group.members and not self.gate.follows(sid, group.group_id):
            raise CommandError("not_a_member", f"join group {command.group_id!r} first")

        async def submit(seq: int) -> None:
            request = MarkRead(group_id=group.group_id, seq=seq, **self._actor(sid, user))
            await self.bus.submit(request)

        await self.markers.mark(user["user_id"], group.group_id, command.seq, submit)
        newest = max(group.last_seq, self.gate.head(group.group_id, "seq"))
        marker = int(group.members.get(user["user_id"], {}).get("last_read_seq", 0))
        return {
            "ok": True,
            "group_id": group.group_id,
            "last_read_seq": max(marker, min(command.seq, newest)),
        }

    # --- presence and typing ----------------------------------------------------------

    @acknowledged
    async def on_presence(self, sid: str, data: Any = None) -> Reply:
        command = parse(InGroup, data)
        group = await self._member_group(sid, await self.get_session(sid), command.group_id)
        online = await self.presence.online(sorted(group.members))
        return {
            "ok": True,
            "group_id": group.group_id,
            "online": [
                {"user_id": uid, "username": group.members[uid]["username"]} for uid in online
            ],
        }

    @acknowledged
    async def on_typing(self, sid: str, data: Any = None) -> Reply:
        """Relayed to the group's other sockets at most once per ``typing_interval``."""
        command = parse(InGroup, data)
        if not self.gate.follows(sid, command.group_id):
            raise CommandError("not_a_member", f"join group {command.group_id!r} first")
        now = time.monotonic()
        key = (sid, command.group_id)
        if now - self._typing.get(key, float("-inf")) < self.settings.typing_interval:
            return {"ok": True, "relayed": False}
        self._typing[key] = now
        user = await self.get_session(sid)
        await self.emit(
            "typing",
            {
                "group_id": command.group_id,
                "user_id": user["user_id"],
                "username": user["username"],
            },
            room=group_room(command.group_id),
            skip_sid=sid,
        )
        return {"ok": True, "relayed": True}
