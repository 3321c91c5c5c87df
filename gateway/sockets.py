"""Socket.IO handlers: one method per client event, each answering with an acknowledgement.

Queries (``groups``, ``members``, ``history``, ``presence``) read the projections directly.
Changes (``send``, ``create_group``, ``join``, ``invite``, ``leave``, ``remove_member``,
``edit``, ``delete``) become requests on Kafka; all but ``send`` wait for the agents' answer,
``send`` is acknowledged once Kafka has the message.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

import socketio
from pymongo.errors import PyMongoError

from gateway.commands import (
    CommandError,
    CreateGroup,
    Delete,
    Edit,
    FindGroups,
    History,
    InGroup,
    Invite,
    Join,
    RemoveMember,
    Send,
    check_body,
    parse,
)
from gateway.delivery import DeliveryGate, group_room
from gateway.directory import UserDirectory
from gateway.presence import Presence
from gateway.readmodel import Group, ReadModel
from gateway.requests import RequestBus
from gateway.settings import Settings
from records.events import split_message_id
from records.requests import (
    AnyRequest,
    DeletionRequested,
    EditRequested,
    GroupCreationRequested,
    InvitationRequested,
    JoinRequested,
    LeaveRequested,
    MessageSubmitted,
    RemovalRequested,
)
from records.tokens import InvalidToken, verify_token

log = logging.getLogger(__name__)

Reply = dict[str, Any]
Handler = Callable[..., Awaitable[Reply]]


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def acknowledged(handler: Handler) -> Handler:
    """Turn refusals and storage failures into ``{ok: false, error: {code, message}}``."""

    @wraps(handler)
    async def wrapper(self: ChatNamespace, sid: str, data: Any = None) -> Reply:
        try:
            return await handler(self, sid, data)
        except CommandError as exc:
            extra = {}
            if isinstance(data, dict) and "client_msg_id" in data:
                extra["client_msg_id"] = data["client_msg_id"]
            return exc.reply(**extra)
        except PyMongoError:
            log.exception("MongoDB failed during %s", handler.__name__)
            return CommandError("unavailable", "the service is unavailable, try again").reply()

    return wrapper


class ChatNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """The default namespace. The user is kept in the Socket.IO session after ``connect``."""

    def __init__(
        self,
        settings: Settings,
        bus: RequestBus,
        reads: ReadModel,
        gate: DeliveryGate,
        presence: Presence,
        directory: UserDirectory,
    ) -> None:
        super().__init__("/")
        self.settings = settings
        self.bus = bus
        self.reads = reads
        self.gate = gate
        self.presence = presence
        self.directory = directory
        self._typing: dict[tuple[str, str], float] = {}

    # --- connection ---------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            claims = verify_token(self.settings, token or "", "access")
        except InvalidToken as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                exc.message, {"code": exc.code}
            ) from None
        try:
            groups = await self.reads.groups_of(claims.user_id)
        except PyMongoError:
            log.exception("group lookup failed on connect")
            raise socketio.exceptions.ConnectionRefusedError(
                "the service is unavailable, try again", {"code": "unavailable"}
            ) from None
        await self.save_session(sid, {"user_id": claims.user_id, "username": claims.username})
        self.gate.connected(sid, claims.user_id)
        await self.enter_room(sid, user_room(claims.user_id))
        for group in groups:
            self.gate.follow(sid, group.group_id, group.last_seq, hold=False)
            await self.enter_room(sid, group_room(group.group_id))
        await self.presence.arrived(sid, claims.user_id, claims.username)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
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
        command = parse(Send, data)
        check_body(command.body)
        user = await self.get_session(sid)
        await self._member_group(sid, user, command.group_id)
        await self.bus.submit(
            MessageSubmitted(
                group_id=command.group_id,
                client_msg_id=command.client_msg_id,
                body=command.body,
                **self._actor(sid, user),
            )
        )
        return {"ok": True, "client_msg_id": command.client_msg_id}

    @acknowledged
    async def on_edit(self, sid: str, data: Any = None) -> Reply:
        command = parse(Edit, data)
        check_body(command.body)
        group_id, _ = split_message_id(command.message_id)
        user = await self.get_session(sid)
        await self._ask(
            EditRequested(
                group_id=group_id,
                message_id=command.message_id,
                body=command.body,
                **self._actor(sid, user),
            )
        )
        return {"ok": True, "message_id": command.message_id}

    @acknowledged
    async def on_delete(self, sid: str, data: Any = None) -> Reply:
        command = parse(Delete, data)
        group_id, _ = split_message_id(command.message_id)
        user = await self.get_session(sid)
        await self._ask(
            DeletionRequested(
                group_id=group_id, message_id=command.message_id, **self._actor(sid, user)
            )
        )
        return {"ok": True, "message_id": command.message_id}

    @acknowledged
    async def on_history(self, sid: str, data: Any = None) -> Reply:
        command = parse(History, data if data is not None else {})
        user = await self.get_session(sid)
        group = await self._member_group(sid, user, command.group_id)
        before = command.before_seq or group.last_seq + 1
        messages = await self.reads.history(group.group_id, before, command.limit)
        oldest = messages[-1]["seq"] if messages else before
        return {
            "ok": True,
            "group_id": group.group_id,
            "messages": messages,
            "next_before_seq": oldest if oldest > 1 else None,
        }

    # --- groups -----------------------------------------------------------------------

    @acknowledged
    async def on_create_group(self, sid: str, data: Any = None) -> Reply:
        command = parse(CreateGroup, data)
        user = await self.get_session(sid)
        group_id = uuid.uuid4().hex
        await self._ask(
            GroupCreationRequested(
                group_id=group_id,
                name=command.name,
                private=command.private,
                **self._actor(sid, user),
            )
        )
        self.gate.follow(sid, group_id, 0, hold=False)
        await self.enter_room(sid, group_room(group_id))
        return {"ok": True, "group_id": group_id}

    @acknowledged
    async def on_join(self, sid: str, data: Any = None) -> Reply:
        """Become a member if needed, then follow the group: from ``since_seq`` when given
        (every message after it first, then live ones), else from now on."""
        command = parse(Join, data)
        user = await self.get_session(sid)
        group = await self.reads.group(command.group_id)
        if group is None:
            raise CommandError("group_not_found", f"there is no group {command.group_id!r}")
        if user["user_id"] not in group.members:
            await self._ask(JoinRequested(group_id=group.group_id, **self._actor(sid, user)))
        last_seq = await self._follow(sid, group.group_id, command.since_seq)
        return {"ok": True, "group_id": group.group_id, "last_seq": last_seq}

    @acknowledged
    async def on_leave(self, sid: str, data: Any = None) -> Reply:
        command = parse(InGroup, data)
        user = await self.get_session(sid)
        await self._ask(LeaveRequested(group_id=command.group_id, **self._actor(sid, user)))
        self.gate.unfollow(sid, command.group_id)
        await self.leave_room(sid, group_room(command.group_id))
        return {"ok": True, "group_id": command.group_id}

    @acknowledged
    async def on_invite(self, sid: str, data: Any = None) -> Reply:
        command = parse(Invite, data)
        if (command.user_id is None) == (command.username is None):
            raise CommandError("invalid_payload", "give exactly one of user_id and username")
        user = await self.get_session(sid)
        await self._member_group(sid, user, command.group_id)
        invitee = await self.directory.find(username=command.username, user_id=command.user_id)
        await self._ask(
            InvitationRequested(
                group_id=command.group_id,
                invitee_id=invitee.user_id,
                invitee=invitee.username,
                **self._actor(sid, user),
            )
        )
        return {"ok": True, "group_id": command.group_id, "user_id": invitee.user_id}

    @acknowledged
    async def on_remove_member(self, sid: str, data: Any = None) -> Reply:
        command = parse(RemoveMember, data)
        user = await self.get_session(sid)
        await self._ask(
            RemovalRequested(
                group_id=command.group_id, member_id=command.user_id, **self._actor(sid, user)
            )
        )
        return {"ok": True, "group_id": command.group_id, "user_id": command.user_id}

    @acknowledged
    async def on_groups(self, sid: str, data: Any = None) -> Reply:
        user = await self.get_session(sid)
        groups = await self.reads.groups_of(user["user_id"])
        return {"ok": True, "groups": [g.to_client(user["user_id"]) for g in groups]}

    @acknowledged
    async def on_find_groups(self, sid: str, data: Any = None) -> Reply:
        command = parse(FindGroups, data if data is not None else {})
        groups = await self.reads.public_groups(command.query, limit=20)
        return {"ok": True, "groups": [g.to_client() for g in groups]}

    @acknowledged
    async def on_members(self, sid: str, data: Any = None) -> Reply:
        command = parse(InGroup, data)
        group = await self._member_group(sid, await self.get_session(sid), command.group_id)
        members = [
            {"user_id": uid, "username": m["username"], "role": m["role"]}
            for uid, m in sorted(group.members.items(), key=lambda item: item[1]["username"])
        ]
        return {"ok": True, "group_id": group.group_id, "members": members}

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
        if group_room(command.group_id) not in self.rooms(sid):
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

    # --- helpers ----------------------------------------------------------------------

    def _actor(self, sid: str, user: dict[str, Any]) -> dict[str, Any]:
        return {
            "actor_id": user["user_id"],
            "actor": user["username"],
            "origin": self.bus.node_id,
            "origin_sid": sid,
        }

    async def _ask(self, request: AnyRequest) -> None:
        answer = await self.bus.ask(request)
        if not answer.ok:
            raise CommandError(answer.code or "refused", answer.message or "refused")

    async def _member_group(self, sid: str, user: dict[str, Any], group_id: str) -> Group:
        group = await self.reads.group(group_id)
        if group is None:
            raise CommandError("group_not_found", f"there is no group {group_id!r}")
        if user["user_id"] not in group.members:
            raise CommandError("not_a_member", f"join group {group_id!r} first")
        return group

    async def _follow(self, sid: str, group_id: str, since_seq: int | None) -> int:
        """Enter the group's room; with ``since_seq``, first send what the socket missed.

        The socket enters the room before history is read, with live messages held, so a
        message is either in what is read (saved before) or among those held (after): the
        held ones are released past the last one sent, and nothing is missed or doubled.
        """
        group = await self.reads.group(group_id)
        last_seq = group.last_seq if group else 0
        if since_seq is None or since_seq >= last_seq:
            self.gate.follow(
                sid, group_id, last_seq if since_seq is None else since_seq, hold=False
            )
            await self.enter_room(sid, group_room(group_id))
            return last_seq
        stream = self.gate.follow(sid, group_id, since_seq, hold=True)
        await self.enter_room(sid, group_room(group_id))
        while True:
            group = await self.reads.group(group_id)
            last_seq = group.last_seq if group else 0
            if last_seq <= stream.cursor:
                break
            async for message in self.reads.messages_between(group_id, stream.cursor + 1, last_seq):
                await self._send_to(sid, message)
                stream.cursor = message["seq"]
        while stream.held:
            held, stream.held = stream.held, []
            for message in sorted(held, key=lambda m: int(m["seq"])):
                if message["seq"] > stream.cursor:
                    await self._send_to(sid, message)
                    stream.cursor = message["seq"]
        stream.held = None
        return stream.cursor

    async def _send_to(self, sid: str, message: dict[str, Any]) -> None:
        await self.emit("message", message, to=sid, ignore_queue=True)
