"""Attempt counters in Redis: atomic across processes, one round trip per check.

A Lua script increments every key of an attempt, sets the window on first use and answers the
longest wait when any key is over the limit, so concurrent API processes share one count.
"""

from __future__ import annotations

import hashlib

import redis.asyncio as aioredis

_HIT = """
local blocked = 0
for i, key in ipairs(KEYS) do
    local count = redis.call('INCR', key)
    if count == 1 then
        redis.call('EXPIRE', key, ARGV[2])
    end
    if count > tonumber(ARGV[1]) then
        local ttl = redis.call('TTL', key)
        if ttl < 0 then
            redis.call('EXPIRE', key, ARGV[2])
            ttl = tonumber(ARGV[2])
        end
        if ttl > blocked then
            blocked = ttl
        end
    end
end
return blocked
"""


class Throttle:
    """Counts attempts per subject (an IP, an account) in a fixed window."""

    def __init__(
        self, redis: aioredis.Redis, *, prefix: str, max_attempts: int, window_seconds: int
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._max = max_attempts
        self._window = window_seconds
        self._script = redis.register_script(_HIT)

    def _key(self, kind: str, subject: str) -> str:
        digest = hashlib.sha256(subject.lower().encode()).hexdigest()[:32]
        return f"{self._prefix}:throttle:{kind}:{digest}"

    async def hit(self, subjects: dict[str, str]) -> int:
        """Count one attempt for each ``kind -> subject``; the seconds to wait, 0 when allowed."""
        keys = [self._key(kind, subject) for kind, subject in subjects.items()]
        return int(await self._script(keys=keys, args=[self._max, self._window]))

    async def reset(self, kind: str, subject: str) -> None:
        """Forget the attempts of one subject (after a successful login)."""
        await self._redis.delete(self._key(kind, subject))
