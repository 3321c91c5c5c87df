"""Admission: past capacity, a send is refused at once with ``unavailable`` and
``retry_after``, rather than accepted into a backlog that makes everyone wait.

What decides is how far delivery lags, not a rate: every message says when a gateway took
its send (``MessageSaved.requested_at``), and this node notes, as the first of its sockets'
writers takes the message from its queue, how long it took to get there, whichever node took
the send and wherever the time went (the requests waiting for the agents, a transaction, the
log, this node's own queues). While that is past ``limit``, new sends are refused and the
senders told to come back in about as long.

A lag seen a while ago counts for less as time passes (it is taken to drain at the speed of
time): a node that refuses everything reads no new messages, and would otherwise refuse for
good on the last lag it saw. When the lag has drained, sends are admitted again and what
they take tells the next reading.
"""

from __future__ import annotations

import math
import time
from datetime import datetime

from gateway.commands import CommandError

SHORTEST_RETRY = 0.5
LONGEST_RETRY = 10.0


class DeliveryLag:
    def __init__(self, limit: float) -> None:
        self.limit = limit
        """Seconds of lag past which sends are refused; 0 admits every send."""
        self.refused = 0
        self._lag = 0.0
        self._seen_at = 0.0

    def observe(self, requested_at: datetime | None) -> None:
        """A message sent at ``requested_at`` reaches a socket now."""
        if requested_at is None:  # saved before messages carried it
            return
        now = time.time()
        self._lag, self._seen_at = max(0.0, now - requested_at.timestamp()), time.monotonic()

    def lag(self) -> float:
        """Seconds a message takes from send to this node, as last read, less the time since."""
        return max(0.0, self._lag - (time.monotonic() - self._seen_at))

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
