"""A catch-up waits for a socket that has many packets unread, and gives up on one that never
reads: the node buffers a bounded queue per socket, not a group's whole backlog."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from gateway.delivery import CATCH_UP_QUEUE, Delivery
from gateway.gate import DeliveryGate
from gateway.seen import SeenLog


class Queue:
    def __init__(self, size: int) -> None:
        self.size = size

    def qsize(self) -> int:
        return self.size


def delivery_with(queue: Queue) -> Delivery:
    sio: Any = SimpleNamespace(
        manager=SimpleNamespace(eio_sid_from_sid=lambda sid, namespace: f"eio-{sid}"),
        eio=SimpleNamespace(sockets={"eio-s": SimpleNamespace(queue=queue)}),
    )
    reads: Any = None  # a catch-up's pace reads nothing
    return Delivery(sio, DeliveryGate(), SeenLog(), reads, gap_timeout=5)


async def test_a_full_queue_is_waited_for_until_the_client_reads() -> None:
    queue = Queue(CATCH_UP_QUEUE + 50)
    delivery = delivery_with(queue)
    waiting = asyncio.create_task(delivery.paced("s", time.monotonic() + 5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    queue.size = CATCH_UP_QUEUE  # the client read some
    await asyncio.wait_for(waiting, 1)
    await delivery.paced("gone", time.monotonic())  # a socket no longer here: nothing to wait


async def test_a_client_that_never_reads_is_given_up_on() -> None:
    delivery = delivery_with(Queue(CATCH_UP_QUEUE * 10))
    with pytest.raises(TimeoutError):
        await delivery.paced("s", time.monotonic() + 0.05)
