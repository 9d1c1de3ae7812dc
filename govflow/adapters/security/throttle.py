"""Attempt counters in Redis: atomic across processes, one round trip per check.

One Lua script checks every counter of an attempt first; when one is at its ceiling it answers
the longest wait among the reached counters and increments nothing, otherwise it increments them
all (setting the window on first use). Concurrent API processes share the counts, and attempts
refused by one limit never inflate another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import redis.asyncio as aioredis

from govflow.usecases.throttling import ALLOWED, Limit, Verdict

_ATTEMPT = """
local wait = 0
local refused = 0
for i, key in ipairs(KEYS) do
    local ceiling = tonumber(ARGV[2 * i - 1])
    local window = tonumber(ARGV[2 * i])
    local count = tonumber(redis.call('GET', key) or '0')
    if count >= ceiling then
        local ttl = redis.call('TTL', key)
        if ttl < 0 then
            redis.call('EXPIRE', key, window)
            ttl = window
        end
        if ttl > wait then
            wait = ttl
            refused = i
        end
    end
end
if refused > 0 then
    return {wait, refused}
end
for i, key in ipairs(KEYS) do
    if redis.call('INCR', key) == 1 then
        redis.call('EXPIRE', key, tonumber(ARGV[2 * i]))
    end
end
return {0, 0}
"""

_REFUND = """
for _, key in ipairs(KEYS) do
    local count = tonumber(redis.call('GET', key) or '0')
    if count > 1 then
        redis.call('DECR', key)
    elseif count == 1 then
        redis.call('DEL', key)
    end
end
return 0
"""


def subject_digest(subject: str) -> str:
    """A subject as it appears in key names: never the address or email itself."""
    return hashlib.sha256(subject.lower().encode()).hexdigest()[:32]


class Throttle:
    """The ``Attempts`` port over Redis."""

    def __init__(self, redis: aioredis.Redis, *, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._attempt = redis.register_script(_ATTEMPT)
        self._refund = redis.register_script(_REFUND)

    def key(self, limit: Limit) -> str:
        return f"{self._prefix}:throttle:{limit.kind}:{subject_digest(limit.subject)}"

    async def attempt(self, limits: Sequence[Limit]) -> Verdict:
        """Count one attempt for every limit; the wait and the refusing limit when one is full."""
        if not limits:
            return ALLOWED
        args: list[int] = []
        for limit in limits:
            args += [limit.max_attempts, limit.window_seconds]
        wait, index = await self._attempt(keys=[self.key(limit) for limit in limits], args=args)
        if int(index) == 0:
            return ALLOWED
        return Verdict(wait=max(1, int(wait)), limit=limits[int(index) - 1])

    async def refund(self, limits: Sequence[Limit]) -> None:
        if limits:
            await self._refund(keys=[self.key(limit) for limit in limits], args=[])

    async def clear(self, limit: Limit) -> None:
        await self._redis.delete(self.key(limit))
