"""Known sources in Redis: the addresses an account logged in from, each for a while."""

from __future__ import annotations

import redis.asyncio as aioredis

from govflow.adapters.security.throttle import subject_digest


class RedisKnownSources:
    """The ``KnownSources`` port: one expiring key per (account, address)."""

    def __init__(self, redis: aioredis.Redis, *, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, account: str, address: str) -> str:
        return f"{self._prefix}:known-source:{subject_digest(account + '|' + address)}"

    async def remember(self, account: str, address: str, seconds: int) -> None:
        await self._redis.set(self._key(account, address), b"1", ex=max(1, seconds))

    async def known(self, account: str, address: str) -> bool:
        return bool(await self._redis.exists(self._key(account, address)))
