"""Password hashing with argon2id, off the event loop and bounded in concurrency."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

log = logging.getLogger(__name__)


class PasswordsBusy(Exception):
    """Too many hashes are waiting already: the caller should answer "busy" at once."""


class Passwords:
    """Hashes and verifies passwords; a missing user is checked against a dummy hash.

    Verifying against the dummy hash when a username is unknown keeps a failed login taking
    about as long as a wrong password, so timing does not tell which usernames exist.
    """

    def __init__(
        self, hasher: PasswordHasher, max_concurrent: int = 4, max_waiting: int = 32
    ) -> None:
        self._hasher = hasher
        self._dummy_hash = hasher.hash(secrets.token_urlsafe(16))
        self._slots = asyncio.Semaphore(max_concurrent)
        self.max_waiting = max_waiting
        self.waiting = 0
        """Hashes queued for a slot: a flood past ``max_waiting`` is refused, not queued."""

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        if self._slots.locked() and self.waiting >= self.max_waiting:
            raise PasswordsBusy
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._slots.release()

    async def hash(self, password: str) -> str:
        async with self._slot():
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True if ``password`` matches; ``None`` (no such user) never matches."""
        async with self._slot():
            matches = await asyncio.to_thread(
                self._verify, password_hash or self._dummy_hash, password
            )
        return matches and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except VerificationError:
            return False
        except InvalidHashError:
            log.error("stored password hash is not a valid argon2 hash")
            return False
