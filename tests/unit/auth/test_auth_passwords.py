"""argon2id hashing: verify, the dummy hash for unknown users, rehash on parameter change."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type

from auth.passwords import Passwords, PasswordsBusy


def _hasher(time_cost: int = 1, memory_cost: int = 1024) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1, type=Type.ID)


async def test_hash_is_argon2id_and_verifies() -> None:
    passwords = Passwords(_hasher())
    password_hash = await passwords.hash("correct horse")
    assert password_hash.startswith("$argon2id$")
    assert "correct horse" not in password_hash
    assert await passwords.verify(password_hash, "correct horse")


async def test_wrong_password_does_not_verify() -> None:
    passwords = Passwords(_hasher())
    password_hash = await passwords.hash("correct horse")
    assert not await passwords.verify(password_hash, "battery staple")


async def test_same_password_hashes_differently() -> None:
    passwords = Passwords(_hasher())
    assert await passwords.hash("correct horse") != await passwords.hash("correct horse")


async def test_missing_user_never_verifies() -> None:
    passwords = Passwords(_hasher())
    assert not await passwords.verify(None, "correct horse")
    assert not await passwords.verify(None, "")


async def test_corrupt_stored_hash_does_not_verify() -> None:
    passwords = Passwords(_hasher())
    assert not await passwords.verify("not-a-hash", "correct horse")
    assert passwords.needs_rehash("not-a-hash")


async def test_needs_rehash_when_parameters_change() -> None:
    old = Passwords(_hasher(time_cost=1))
    new = Passwords(_hasher(time_cost=2))
    old_hash = await old.hash("correct horse")
    assert not old.needs_rehash(old_hash)
    assert new.needs_rehash(old_hash)
    # The old hash still verifies under the new parameters, so a login can upgrade it.
    assert await new.verify(old_hash, "correct horse")
    new_hash = await new.hash("correct horse")
    assert not new.needs_rehash(new_hash)


async def test_non_ascii_password_round_trips() -> None:
    passwords = Passwords(_hasher())
    password_hash = await passwords.hash("pässwörd-密码")
    assert await passwords.verify(password_hash, "pässwörd-密码")
    assert not await passwords.verify(password_hash, "passwörd-密码")


async def test_a_flood_past_the_queue_is_refused_at_once_not_queued() -> None:
    passwords = Passwords(_hasher(time_cost=3, memory_cost=32768), max_concurrent=1, max_waiting=2)
    stored = await passwords.hash("correct horse")
    flood = [asyncio.create_task(passwords.verify(stored, "guess")) for _ in range(6)]
    outcomes = await asyncio.gather(*flood, return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, PasswordsBusy)]
    # One hashing, two waiting; the other three are refused without waiting their turn.
    assert len(refused) == 3
    assert [o for o in outcomes if not isinstance(o, PasswordsBusy)] == [False, False, False]
    assert passwords.waiting == 0
    assert await passwords.verify(stored, "correct horse")  # and it serves again
