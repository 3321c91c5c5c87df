"""Admission: past capacity, a send is refused at once with ``unavailable`` and
``retry_after``, rather than accepted into a backlog that makes everyone wait.

What decides is how far delivery lags, not a rate: every message says when a gateway took
its send (``MessageSaved.requested_at``), and this node notes, as the first of its sockets'
writers takes the message from its queue, how long it took to get there, whichever node took
the send and wherever the time went (the requests waiting for the agents, a transaction, the
log, this node's own queues). While that is past ``limit``, new sends are refused and the
senders told to come back in about as long.

The other place a send waits is before it is even handled: a node whose event loop is full
(at twice the capacity, 2,000 sends and 20,000 deliveries a second on one core) takes each
send seconds after it came, so it is stamped late and the lag above does not show that wait.
How late the loop runs a timer (``watch_loop``) does: it counts as lag too.

A lag seen a while ago counts for less as time passes (it is taken to drain at the speed of
time): a node that refuses everything reads no new messages, and would otherwise refuse for
good on the last lag it saw. When the lag has drained, sends are admitted again and what
they take tells the next reading.
"""

from __future__ import annotations

import asyncio
import math
import time
from datetime import datetime

from gateway.commands import CommandError

SHORTEST_RETRY = 0.5
LONGEST_RETRY = 10.0
LOOP_TICK = 0.1
"""Seconds between two looks at how late the event loop runs."""


class DeliveryLag:
    def __init__(self, limit: float) -> None:
        self.limit = limit
        """Seconds of lag past which sends are refused; 0 admits every send."""
        self.refused = 0
        self._lag = 0.0
        self._seen_at = 0.0
        self._loop_late = 0.0

    def observe(self, requested_at: datetime | None) -> None:
        """A message sent at ``requested_at`` reaches a socket now."""
        if requested_at is None:  # saved before messages carried it
            return
        now = time.time()
        self._lag, self._seen_at = max(0.0, now - requested_at.timestamp()), time.monotonic()

    def lag(self) -> float:
        """Seconds a message takes from send to a socket here, as last seen, less the time
        since; or how late this node's event loop runs, if more."""
        return max(0.0, self._lag - (time.monotonic() - self._seen_at), self._loop_late)

    async def watch_loop(self) -> None:
        """Note, every ``LOOP_TICK``, how late the event loop ran a timer: how long work
        waits for its turn here, sends among it. Runs until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            await asyncio.sleep(LOOP_TICK)
            self._loop_late = max(0.0, loop.time() - began - LOOP_TICK)

    def admit(self) -> None:
        """Return if a send may go in; else ``CommandError("unavailable")`` with a
        ``retry_after`` of about the time the lag takes to drain."""
        if self.limit <= 0 or (lag := self.lag()) <= self.limit:
            return
        self.refused += 1
        retry_after = min(LONGEST_RETRY, max(SHORTEST_RETRY, math.ceil(lag * 10 - 1e-6) / 10))
        raise CommandError(
            "unavailable",
            f"messages take {lag:.1f} s to arrive just now; send again in {retry_after:g} s",
            retry_after=retry_after,
        )
