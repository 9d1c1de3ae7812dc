"""Refusal tallies in Redis: how often one limit refused, per window, for aggregated auditing.

The first refusal of a window starts a counter that lives one window; every refusal increments it
and copies the running count into a longer-lived "last" key, so the first refusal of the next
window can report how many the previous window refused.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from govflow.adapters.security.throttle import subject_digest
from govflow.usecases.throttling import Limit, Tally

LAST_WINDOW_KEEP_SECONDS = 7 * 86400
"""How long a window's total waits to be reported by the next window's first refusal."""

_REFUSED = """
local count = redis.call('INCR', KEYS[1])
local previous = 0
if count == 1 then
    redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
    previous = tonumber(redis.call('GET', KEYS[2]) or '0')
end
redis.call('SET', KEYS[2], count, 'EX', tonumber(ARGV[2]))
return {count, previous}
"""


class RedisRefusalTally:
    """The ``RefusalTally`` port over Redis."""

    def __init__(self, redis: aioredis.Redis, *, prefix: str) -> None:
        self._prefix = prefix
        self._script = redis.register_script(_REFUSED)

    async def refused(self, limit: Limit) -> Tally:
        base = f"{self._prefix}:refusals:{limit.kind}:{subject_digest(limit.subject)}"
        keep = max(LAST_WINDOW_KEEP_SECONDS, 2 * limit.window_seconds)
        count, previous = await self._script(
            keys=[base, base + ":last"], args=[limit.window_seconds, keep]
        )
        return Tally(count=int(count), previous=int(previous))
