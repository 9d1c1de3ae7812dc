"""Password hashing with argon2id, off the event loop and with bounded concurrency."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import CHEAPEST, RFC_9106_LOW_MEMORY


class Passwords:
    """Hash and verify passwords; at most ``concurrency`` hashes run at once."""

    def __init__(self, *, cheap: bool = False, concurrency: int = 4) -> None:
        profile = CHEAPEST if cheap else RFC_9106_LOW_MEMORY
        self._hasher = PasswordHasher.from_parameters(profile)
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy_hash = self._hasher.hash("govflow-timing-equaliser")

    def hash_sync(self, password: str) -> str:
        return self._hasher.hash(password)

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Check ``password``; with no stored hash, spend the same time and answer ``False``."""
        target = stored_hash or self._dummy_hash
        async with self._slots:
            try:
                ok = await asyncio.to_thread(self._hasher.verify, target, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False
        return bool(ok) and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)
