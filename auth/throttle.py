"""Failed logins slow the next attempts down, per account and per client address.

After ``free`` failures a key (an account, or an address) waits before its next attempt:
1 s, then 2, 4, 8 … up to ``longest``, counted from its last failure. A throttled attempt is
answered 429 with ``Retry-After`` before any password is hashed, so guessing costs the
guesser time and the service nothing. A successful login clears the account's count (not
the address's: one good account must not launder an address's guesses at others). Counts
are forgotten an hour after the last failure.

The counts live in this process: with several auth nodes behind a balancer, each node keeps
its own, so a guesser gets at most that many times the budget.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

FORGET_AFTER = 3600.0
MAX_KEYS = 100_000
"""Keys remembered at most (the oldest go first): a flood of usernames cannot grow memory."""


@dataclass
class Failures:
    count: int
    last: float


class LoginThrottle:
    def __init__(self, free: int, longest: float) -> None:
        self.free = free
        self.longest = longest
        self._failures: OrderedDict[str, Failures] = OrderedDict()

    def wait_for(self, key: str, now: float | None = None) -> float:
        """Seconds ``key`` must still wait before its next attempt (0: go ahead)."""
        now = time.monotonic() if now is None else now
        failures = self._failures.get(key)
        if failures is None:
            return 0.0
        if now - failures.last > FORGET_AFTER:
            del self._failures[key]
            return 0.0
        if failures.count < self.free:
            return 0.0
        delay = min(self.longest, 2.0 ** (failures.count - self.free))
        return max(0.0, failures.last + delay - now)

    def failed(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        failures = self._failures.pop(key, None) or Failures(0, now)
        failures.count += 1
        failures.last = now
        self._failures[key] = failures
        while len(self._failures) > MAX_KEYS:
            self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
