"""The request bus: requests from this node to the agents (``records.requests``), and the
answers that come back to it.

Every request carries this node's id (``origin``). Answers are published on the replies topic;
each node reads it with a consumer of its own (no group, from the end) and keeps the ones
addressed to it, resolving the client's pending acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from gateway.commands import CommandError
from gateway.settings import Settings
from records.kafka import LIVE_FETCH_WAIT_MS, committed_reader
from records.operations import REQUEST_ID_HEADER, request_id
from records.requests import AnyRequest, RequestAnswered

log = logging.getLogger(__name__)

Unanswered = Callable[[RequestAnswered], Awaitable[None]]


class RequestBus:
    def __init__(self, settings: Settings, producer: AIOKafkaProducer, on_unawaited: Unanswered):
        self.settings = settings
        self.producer = producer
        self.node_id = uuid.uuid4().hex
        self.on_unawaited = on_unawaited
        self._pending: dict[str, asyncio.Future[RequestAnswered]] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        topic = self.settings.topics.replies
        # Committed answers only: an answer is committed with the facts it tells of.
        self._consumer = committed_reader(self.settings, fetch_max_wait_ms=LIVE_FETCH_WAIT_MS)
        # The producer's metadata call waits for a just-created topic to be known.
        partitions = [TopicPartition(topic, p) for p in await self.producer.partitions_for(topic)]
        await self._consumer.start()
        self._consumer.assign(partitions)
        # Resolve the end offsets now, so no answer to an early request is skipped.
        await self._consumer.seek_to_end(*partitions)
        for partition in partitions:
            await self._consumer.position(partition)
        self._task = asyncio.create_task(self._read_answers())

    @property
    def task(self) -> asyncio.Task[None]:
        """The background task, once started."""
        assert self._task is not None, "not started"
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
        for future in self._pending.values():
            future.cancel()

    async def submit(self, request: AnyRequest) -> None:
        """Put a request on Kafka; returns once the broker has it. Its id goes along in a
        header and into this task's log lines, so the agents' lines about it share it."""
        request_id.set(request.event_id)
        log.debug("submitting %s to group %s", request.type, request.group_id)
        try:
            # A timeout scope, not ``wait_for``: no task of its own for each send.
            async with asyncio.timeout(self.settings.send_timeout):
                await self.producer.send_and_wait(
                    self.settings.topics.requests,
                    value=request.to_bytes(),
                    key=request.group_id.encode(),
                    headers=[(REQUEST_ID_HEADER, request.event_id.encode())],
                )
        except (KafkaError, TimeoutError) as exc:
            log.error("could not publish %s %s: %r", request.type, request.event_id, exc)
            raise CommandError(
                "unavailable", "the request could not be accepted now; try again"
            ) from None

    async def ask(self, request: AnyRequest) -> RequestAnswered:
        """Submit a request and wait for the agents' answer."""
        future = asyncio.get_running_loop().create_future()
        self._pending[request.event_id] = future
        try:
            await self.submit(request)
            async with asyncio.timeout(self.settings.request_timeout):
                return await future
        except TimeoutError:
            raise CommandError(
                "timeout", "no answer in time; the request may still take effect"
            ) from None
        finally:
            self._pending.pop(request.event_id, None)

    async def _read_answers(self) -> None:
        assert self._consumer is not None
        async for record in self._consumer:
            if record.key != self.node_id.encode():
                continue
            try:
                answer = RequestAnswered.model_validate_json(record.value or b"")
            except ValidationError as exc:
                log.error("skipping an unreadable answer: %s", exc)
                continue
            future = self._pending.get(answer.request_id)
            if future is not None and not future.done():
                future.set_result(answer)
            elif not answer.ok:
                await self.on_unawaited(answer)
