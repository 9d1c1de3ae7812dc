"""Request counters in Redis: the ``RateCounter`` port, one round trip per request.

One Lua script reads every counter of a request; when one is at its ceiling it counts nothing
and answers the counts and the time left of each, otherwise it increments them all (a window
starts with its first request and lasts ``window_seconds``). Redis errors let the request
through, unchecked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import redis.asyncio as aioredis
import redis.exceptions
import structlog

from govflow.adapters.security.throttle import subject_digest
from govflow.usecases.rate_limits import UNCHECKED, RateLimit, RateVerdict, Usage

log = structlog.get_logger("govflow.rate_limit")

_HIT = """
local refused = false
local counts = {}
for i, key in ipairs(KEYS) do
    counts[i] = tonumber(redis.call('GET', key) or '0')
    if counts[i] >= tonumber(ARGV[2 * i - 1]) then
        refused = true
    end
end
local answer = {refused and 0 or 1}
for i, key in ipairs(KEYS) do
    local window = tonumber(ARGV[2 * i])
    if not refused then
        counts[i] = redis.call('INCR', key)
        if counts[i] == 1 then
            redis.call('PEXPIRE', key, window)
        end
    end
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
        if counts[i] > 0 then
            redis.call('PEXPIRE', key, window)
        end
        ttl = window
    end
    table.insert(answer, counts[i])
    table.insert(answer, ttl)
end
return answer
"""


class RedisRateCounter:
    """Fixed-window request counters shared by every API process."""

    def __init__(self, redis: aioredis.Redis, *, prefix: str) -> None:
        self._prefix = prefix
        self._hit = redis.register_script(_HIT)

    def key(self, limit: RateLimit) -> str:
        return f"{self._prefix}:rate:{limit.name}:{subject_digest(limit.subject)}"

    async def hit(self, limits: Sequence[RateLimit]) -> RateVerdict:
        if not limits:
            return UNCHECKED
        args: list[int] = []
        for limit in limits:
            args += [limit.ceiling, limit.window_seconds * 1000]
        try:
            answer = await self._hit(keys=[self.key(limit) for limit in limits], args=args)
        except (redis.exceptions.RedisError, OSError) as exc:
            log.warning("rate_limit_unavailable", error=type(exc).__name__)
            return UNCHECKED
        usages = tuple(
            Usage(limit, int(answer[1 + 2 * i]), max(1, math.ceil(int(answer[2 + 2 * i]) / 1000)))
            for i, limit in enumerate(limits)
        )
        return RateVerdict(allowed=int(answer[0]) == 1, usages=usages)
