"""Password hashing with argon2id, off the event loop, in two lanes of bounded capacity.

Logins get their own threads (``Passwords`` itself: verification and rehashing at login); every
other hashing (password changes, reset confirmations, user creation) goes through
``Passwords.background``, a lane of fewer threads. However much the other lane is asked to do,
the login lane's threads stay free for logins. Every argon2 computation is counted in the
``govflow_password_hashes_total`` metric, by lane.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import CHEAPEST, RFC_9106_LOW_MEMORY
from prometheus_client import Counter

HASHES = Counter(
    "govflow_password_hashes_total", "argon2 computations (hash or verify), by lane", ["lane"]
)

_T = TypeVar("_T")


class HashingLane:
    """Hash and verify on ``threads`` threads of its own; ``name`` labels the metric."""

    def __init__(self, hasher: PasswordHasher, dummy_hash: str, *, name: str, threads: int):
        self._hasher = hasher
        self._dummy_hash = dummy_hash
        self._name = name
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"argon2-{name}")

    async def _run(self, call: Callable[..., _T], *args: str) -> _T:
        HASHES.labels(self._name).inc()
        return await asyncio.get_running_loop().run_in_executor(self._pool, call, *args)

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Check ``password``; with no stored hash, spend the same time and answer ``False``."""
        target = stored_hash or self._dummy_hash
        try:
            ok = await self._run(self._hasher.verify, target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return bool(ok) and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


class Passwords(HashingLane):
    """The login lane (``concurrency`` threads); :attr:`background` is the other lane."""

    def __init__(
        self, *, cheap: bool = False, concurrency: int = 4, background_concurrency: int = 1
    ) -> None:
        hasher = PasswordHasher.from_parameters(CHEAPEST if cheap else RFC_9106_LOW_MEMORY)
        dummy = hasher.hash("govflow-timing-equaliser")
        super().__init__(hasher, dummy, name="login", threads=concurrency)
        self.background = HashingLane(
            hasher, dummy, name="background", threads=background_concurrency
        )

    def hash_sync(self, password: str) -> str:
        return self._hasher.hash(password)
