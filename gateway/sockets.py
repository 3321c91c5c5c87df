"""Socket.IO handlers: one method per client event, each answering with an acknowledgement."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pymongo.errors import PyMongoError

from gateway.commands import CommandError, Join, Send, check_body, parse
from gateway.memberships import Memberships
from gateway.settings import Settings
from records.events import MessageSubmitted
from records.tokens import InvalidToken, verify_token

log = logging.getLogger(__name__)


def group_room(group_id: str) -> str:
    return f"group:{group_id}"


class ChatNamespace(socketio.AsyncNamespace):
    """The default namespace. The user is kept in the Socket.IO session after ``connect``."""

    def __init__(
        self, settings: Settings, producer: AIOKafkaProducer, memberships: Memberships
    ) -> None:
        super().__init__("/")
        self.settings = settings
        self.producer = producer
        self.memberships = memberships

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            claims = verify_token(self.settings, token or "", "access")
        except InvalidToken as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                exc.message, {"code": exc.code}
            ) from None
        try:
            groups = await self.memberships.groups_of(claims.user_id)
        except PyMongoError:
            log.exception("membership lookup failed on connect")
            raise socketio.exceptions.ConnectionRefusedError(
                "the service is unavailable, try again", {"code": "unavailable"}
            ) from None
        await self.save_session(
            sid, {"user_id": claims.user_id, "username": claims.username, "groups": set(groups)}
        )
        for group_id in groups:
            await self.enter_room(sid, group_room(group_id))

    async def on_join(self, sid: str, data: Any = None) -> dict[str, Any]:
        try:
            command = parse(Join, data)
            session = await self.get_session(sid)
            await self._guard_storage(self.memberships.join(command.group_id, session["user_id"]))
        except CommandError as exc:
            return exc.reply()
        session["groups"].add(command.group_id)
        await self.enter_room(sid, group_room(command.group_id))
        return {"ok": True, "group_id": command.group_id}

    async def on_send(self, sid: str, data: Any = None) -> dict[str, Any]:
        client_msg_id = data.get("client_msg_id") if isinstance(data, dict) else None
        try:
            command = parse(Send, data)
            check_body(command.body)
            session = await self.get_session(sid)
            await self._check_member(session, command.group_id)
            event = MessageSubmitted(
                group_id=command.group_id,
                sender_id=session["user_id"],
                sender=session["username"],
                client_msg_id=command.client_msg_id,
                body=command.body,
            )
            await self._publish(event)
        except CommandError as exc:
            return exc.reply(client_msg_id=client_msg_id)
        return {"ok": True, "client_msg_id": command.client_msg_id}

    async def _check_member(self, session: dict[str, Any], group_id: str) -> None:
        if group_id in session["groups"]:
            return
        is_member = await self._guard_storage(
            self.memberships.is_member(group_id, session["user_id"])
        )
        if not is_member:
            raise CommandError("not_a_member", f"join group {group_id!r} before sending to it")
        session["groups"].add(group_id)

    async def _publish(self, event: MessageSubmitted) -> None:
        """Put the event on Kafka; the client is told ``ok`` only once the broker has it."""
        try:
            await asyncio.wait_for(
                self.producer.send_and_wait(
                    self.settings.topics.incoming,
                    value=event.to_bytes(),
                    key=event.group_id.encode(),
                ),
                timeout=self.settings.send_timeout,
            )
        except (KafkaError, TimeoutError) as exc:
            log.error("could not publish %s: %r", event.event_id, exc)
            raise CommandError(
                "unavailable", "the message could not be accepted now; send it again"
            ) from None

    @staticmethod
    async def _guard_storage(operation: Any) -> Any:
        try:
            return await operation
        except PyMongoError:
            log.exception("MongoDB operation failed")
            raise CommandError("unavailable", "the service is unavailable, try again") from None
