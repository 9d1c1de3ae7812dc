"""Denial counts in Redis, shared by every API worker, and the audit writer they flush into.

Each window is one hash (``<prefix>:denials:<window>``, field = the encoded denial, value = the
count) listed in a sorted set of windows. Adding is one ``HINCRBY`` in a transaction with the
index entry and an expiry (a window nobody flushes disappears after :data:`KEEP_SECONDS`).
Taking a window runs one Lua script that reads, deletes and unlists it atomically, so two
workers flushing at once never write the same count twice; a denial counted after its window
was taken simply re-creates the window and is written by the next flush.
"""

from __future__ import annotations

import asyncpg
import msgspec
import redis.asyncio as aioredis

from govflow.adapters.db.audit import append_audit
from govflow.usecases.audit import AuditEntry
from govflow.usecases.denials import Denial, DenialCount

KEEP_SECONDS = 7 * 24 * 3600
"""How long an unflushed window is kept (no API worker running to flush it)."""

_TAKE = """
local taken = {}
local windows = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, window in ipairs(windows) do
    local key = ARGV[2] .. window
    table.insert(taken, window)
    table.insert(taken, redis.call('HGETALL', key))
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], window)
end
return taken
"""


class RedisDenialCounter:
    """The ``DenialCounter`` port over Redis."""

    def __init__(self, redis: aioredis.Redis, *, prefix: str) -> None:
        self._redis = redis
        self._windows = f"{prefix}:denials:windows"
        self._window_prefix = f"{prefix}:denials:"
        self._take = redis.register_script(_TAKE)

    async def add(self, window: int, denial: Denial) -> None:
        key = f"{self._window_prefix}{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, msgspec.json.encode(denial), 1)
            pipe.expire(key, KEEP_SECONDS)
            pipe.zadd(self._windows, {str(window): window})
            await pipe.execute()

    async def take(self, up_to_window: int) -> list[DenialCount]:
        reply = await self._take(keys=[self._windows], args=[up_to_window, self._window_prefix])
        counts: list[DenialCount] = []
        for index in range(0, len(reply), 2):
            window = int(reply[index])
            fields = reply[index + 1]
            for position in range(0, len(fields), 2):
                denial = msgspec.json.decode(fields[position], type=Denial)
                counts.append(
                    DenialCount(window=window, denial=denial, count=int(fields[position + 1]))
                )
        return counts


class PoolAuditAppender:
    """Appends audit entries in a transaction of their own, on a pooled connection."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def append_audit(self, entries: list[AuditEntry]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await append_audit(conn, entries)
