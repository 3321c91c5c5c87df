"""A worker that stops hands its partitions over at once, static membership or not.

A consumer with a ``group.instance.id`` (static membership, ``AGENTS_INSTANCE_ID``) never
leaves its group on close: the coordinator keeps its partitions for it until its session times
out (``AGENTS_SESSION_TIMEOUT``), so that a restarted worker gets them back without a
rebalance. That is right after a crash, and wrong on SIGTERM: a worker stopped for a deploy,
or for good, would leave its partitions undecided for the whole session. aiokafka sends no
LeaveGroup for a static member, and its protocol goes only to LeaveGroup v1, which cannot name
one; so on a clean stop the worker sends LeaveGroup v3 itself (KIP-345: the member by its
instance id), the coordinator rebalances at once, and the other workers take the partitions
at their next heartbeat. When the worker comes back it joins as a new member, and the
partitions are shared out again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Int16, Int32, Schema, String

log = logging.getLogger(__name__)

LEAVE_TIMEOUT = 5.0
"""Seconds a stopping worker waits for the coordinator to take its leave: past them it
stops anyway, and its partitions move when its session times out, as after a crash."""


class LeaveGroupResponse_v3(Response):  # noqa: N801 - aiokafka's naming of versions
    API_KEY = 13
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        (
            "members",
            Array(
                ("member_id", String("utf-8")),
                ("group_instance_id", String("utf-8")),
                ("error_code", Int16),
            ),
        ),
    )


class LeaveGroupRequest_v3(RequestStruct):  # noqa: N801
    API_KEY = 13
    API_VERSION = 3
    RESPONSE_TYPE = LeaveGroupResponse_v3
    SCHEMA = Schema(
        ("group_id", String("utf-8")),
        ("members", Array(("member_id", String("utf-8")), ("group_instance_id", String("utf-8")))),
    )


LeaveStructs: TypeAlias = LeaveGroupRequest_v3


class LeaveAsStaticMember(Request[LeaveStructs]):
    """LeaveGroup for one static member (version 3, the first that names instances)."""

    API_KEY = 13

    def __init__(self, group_id: str, member_id: str, instance_id: str) -> None:
        self._group_id = group_id
        self._member = (member_id, instance_id)

    def build(self, request_struct_class: type[LeaveStructs]) -> LeaveStructs:
        return request_struct_class(self._group_id, [self._member])


async def stop_and_leave(consumer: AIOKafkaConsumer) -> None:
    """Stop ``consumer``; a static member first leaves its group, so that its partitions go
    to the others now rather than after its session."""
    coordinator = consumer._coordinator  # noqa: SLF001 - aiokafka offers no public leave
    instance_id = getattr(coordinator, "_group_instance_id", None)
    if coordinator is None or instance_id is None:
        await consumer.stop()  # a dynamic member: aiokafka sends its LeaveGroup itself
        return
    group_id, member_id = coordinator.group_id, coordinator.member_id
    node = coordinator.coordinator_id
    # Heartbeats end first: sent after the leave, one would be answered "unknown member" and
    # make the consumer join again.
    await coordinator.close()
    if node is not None and member_id:
        await _leave(consumer, node, LeaveAsStaticMember(group_id, member_id, instance_id))
    await consumer.stop()


async def _leave(consumer: AIOKafkaConsumer, node: int, request: LeaveAsStaticMember) -> None:
    try:
        response = await asyncio.wait_for(
            consumer._client.send(node, request),  # noqa: SLF001
            LEAVE_TIMEOUT,
        )
    except Exception as exc:  # noqa: BLE001 - the session timeout still moves the partitions
        log.warning("could not leave group %s: %r", request._group_id, exc)
        return
    codes = [response.error_code] + [member[2] for member in response.members]
    errors = [for_code(code).__name__ for code in codes if code != 0]
    if errors:
        log.warning("leaving group %s: %s", request._group_id, ", ".join(errors))
    else:
        log.info("left group %s: its partitions go to the other workers now", request._group_id)
