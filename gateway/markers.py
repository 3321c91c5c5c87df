"""Read markers from clients, coalesced: a page sends ``read`` on every scroll, but at most one
request a second per person and group reaches Kafka, and the last one always does.

The first ``read`` of a quiet spell goes to Kafka at once. Those that follow within
``interval`` wait for the next flush, which sends the highest ``seq`` asked for meanwhile; each
caller is acknowledged once the request carrying its ``seq`` (or a higher one) is on Kafka, so
an acknowledged marker is never lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Submit = Callable[[int], Awaitable[None]]
"""Put a read-marker request for ``seq`` on Kafka (raises if it cannot)."""


@dataclass
class _Pending:
    sent_at: float = float("-inf")
    sent_seq: int = -1
    """The highest ``seq`` a request on Kafka carries: asking for no more needs no request."""
    seq: int = -1
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    flush: asyncio.TimerHandle | None = None


class ReadCoalescer:
    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._pending: dict[tuple[str, str], _Pending] = {}

    async def mark(self, user_id: str, group_id: str, seq: int, submit: Submit) -> None:
        """Returns once a request with ``seq`` or more is on Kafka."""
        key = (user_id, group_id)
        pending = self._pending.setdefault(key, _Pending())
        if seq <= pending.sent_seq:
            return
        now = time.monotonic()
        if pending.flush is None and now - pending.sent_at >= self.interval:
            pending.sent_at = now
            await submit(seq)
            pending.sent_seq = max(pending.sent_seq, seq)
            self._forget_later(key)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pending.waiters.append(future)
        pending.seq = max(pending.seq, seq)
        if pending.flush is None:
            delay = max(0.0, pending.sent_at + self.interval - now)
            pending.flush = asyncio.get_running_loop().call_later(
                delay, lambda: asyncio.ensure_future(self._flush(key, submit))
            )
        await future

    async def _flush(self, key: tuple[str, str], submit: Submit) -> None:
        pending = self._pending[key]
        waiters, seq = pending.waiters, pending.seq
        pending.waiters, pending.seq, pending.flush = [], -1, None
        pending.sent_at = time.monotonic()
        try:
            if seq > pending.sent_seq:  # else a request already on Kafka covers them
                await submit(seq)
                pending.sent_seq = max(pending.sent_seq, seq)
        except Exception as exc:  # noqa: BLE001 - each waiting caller gets the refusal
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        if not pending.waiters and pending.flush is None:
            self._forget_later(key)

    def _forget_later(self, key: tuple[str, str]) -> None:
        """A quiet key is dropped after its interval, so the map holds active readers only."""

        def forget() -> None:
            pending = self._pending.get(key)
            if pending is not None and not pending.waiters and pending.flush is None:
                if time.monotonic() - pending.sent_at >= self.interval:
                    del self._pending[key]

        asyncio.get_running_loop().call_later(self.interval * 2, forget)
