"""What stands between the Jira actions and Jira: a rate cap and a circuit breaker, both shared by
every worker through Redis.

- The **rate cap** lets at most ``JIRA_RATE_LIMIT_MAX`` requests reach Jira per
  ``JIRA_RATE_LIMIT_WINDOW_MS`` (fixed windows, rounded up to whole seconds) across the whole
  deployment. It reuses the API's request counter (:class:`RedisRateCounter`). A request over the
  cap is not sent: the attempt fails technically with ``retry_after`` = the time left in the
  window.
- The **circuit breaker** counts technical failures (5xx, timeouts, connection errors; not 429,
  which is Jira alive and asking to slow down). ``breaker_failures`` of them within
  ``breaker_window_seconds`` open it for ``breaker_cooldown_seconds``: nothing is sent and
  attempts fail technically with ``retry_after`` = the time left. After the cooldown it is
  half-open: requests go through, the first success closes it, the first failure opens it again.

When Redis cannot be reached, both let requests through (they protect Jira and GovFlow; they must
not be why a step fails). :class:`LocalGuard` is the same in one process, for tests and tools
that run without Redis.

The breaker's states are the core's :class:`~govflow.core.breakers.BreakerState`. Whenever a
process learns the state (a request admitted or refused, a failure that opens the breaker, a
success, a state query), it reports it to ``govflow_breaker_state{breaker="jira"}`` and
``govflow_jira_circuit_open``.
"""

from __future__ import annotations

import math
import time
from typing import Final, Protocol

import redis.asyncio as aioredis
import redis.exceptions
from prometheus_client import Counter, Gauge

from govflow.adapters.breaker_metrics import report_breaker_state
from govflow.adapters.security.rate_limit import RedisRateCounter
from govflow.core.breakers import BreakerState
from govflow.usecases.rate_limits import RateLimit

REQUESTS: Final = Counter(
    "govflow_jira_requests_total",
    "Requests to Jira by outcome (ok, refused, rate_limited, error, capped, circuit_open)",
    ["outcome"],
)
CIRCUIT_OPENED: Final = Counter(
    "govflow_jira_circuit_opened_total", "Times the Jira circuit breaker opened"
)
CIRCUIT_OPEN: Final = Gauge(
    "govflow_jira_circuit_open",
    "1 while this process last saw the Jira circuit breaker open, else 0",
    multiprocess_mode="max",
)
BREAKER: Final = "jira"
"""The breaker's name in ``govflow_breaker_state``."""

CircuitState = BreakerState
"""The circuit breaker's state (the core's vocabulary, under the name this module used)."""


def _seen(state: BreakerState) -> None:
    """Report the state this process just saw the breaker in."""
    CIRCUIT_OPEN.set(1 if state is BreakerState.OPEN else 0)
    report_breaker_state(BREAKER, state)


class Refusal(Exception):
    """A request was not sent: the circuit is open or the rate cap reached.

    :ivar retry_after: seconds until it is worth trying again.
    """

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Guard(Protocol):
    """The rate cap and circuit breaker around every Jira request."""

    async def admit(self) -> None:
        """Let one request through, or raise :class:`Refusal`."""
        ...

    async def succeeded(self) -> None:
        """The request reached Jira (any answer but a 5xx)."""
        ...

    async def failed(self) -> None:
        """The request failed technically (5xx, timeout, connection error)."""
        ...

    async def state(self) -> BreakerState:
        """The breaker's state."""
        ...


_FAIL = """
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if failures >= tonumber(ARGV[1]) or redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
    redis.call('SET', KEYS[3], '1')
    redis.call('DEL', KEYS[1])
    return 1
end
return 0
"""


class RedisGuard:
    """:class:`Guard` shared by every process through Redis (keys under ``prefix``)."""

    def __init__(
        self,
        redis_client: aioredis.Redis,
        *,
        rate_max: int,
        rate_window_ms: int,
        breaker_failures: int,
        breaker_window_seconds: float,
        breaker_cooldown_seconds: float,
        prefix: str = "govflow:jira",
    ) -> None:
        self._redis = redis_client
        self._counter = RedisRateCounter(redis_client, prefix=prefix)
        self._limit = RateLimit(
            name="outbound",
            subject="jira",
            ceiling=rate_max,
            window_seconds=max(1, math.ceil(rate_window_ms / 1000)),
        )
        self._failures = f"{prefix}:breaker:failures"
        self._open = f"{prefix}:breaker:open"
        self._half = f"{prefix}:breaker:half_open"
        self._threshold = breaker_failures
        self._window_ms = max(1, int(breaker_window_seconds * 1000))
        self._cooldown_ms = max(1, int(breaker_cooldown_seconds * 1000))
        self._fail = redis_client.register_script(_FAIL)

    async def _read(self) -> tuple[int, bool]:
        """The milliseconds the breaker stays open (<= 0: not open) and whether it is
        half-open, in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.pttl(self._open)
            pipe.exists(self._half)
            left_ms, half = await pipe.execute()
        return int(left_ms), bool(half)

    async def admit(self) -> None:
        try:
            left_ms, half = await self._read()
        except (redis.exceptions.RedisError, OSError):
            left_ms, half = -2, False
        if left_ms > 0:
            _seen(BreakerState.OPEN)
            REQUESTS.labels("circuit_open").inc()
            raise Refusal("the Jira circuit breaker is open", left_ms / 1000)
        _seen(BreakerState.HALF_OPEN if half else BreakerState.CLOSED)
        if self._limit.ceiling <= 0:
            return
        verdict = await self._counter.hit([self._limit])
        if not verdict.allowed:
            REQUESTS.labels("capped").inc()
            reset = verdict.usages[0].reset_seconds if verdict.usages else 1
            raise Refusal(
                f"the Jira rate cap is reached ({self._limit.ceiling} requests per "
                f"{self._limit.window_seconds}s)",
                float(reset),
            )

    async def succeeded(self) -> None:
        try:
            await self._redis.delete(self._failures, self._half)
        except (redis.exceptions.RedisError, OSError):
            return
        _seen(BreakerState.CLOSED)

    async def failed(self) -> None:
        try:
            opened = await self._fail(
                keys=[self._failures, self._open, self._half],
                args=[self._threshold, self._window_ms, self._cooldown_ms],
            )
        except (redis.exceptions.RedisError, OSError):
            return
        if int(opened):
            CIRCUIT_OPENED.inc()
            _seen(BreakerState.OPEN)

    async def aclose(self) -> None:
        """Close the Redis connection."""
        await self._redis.aclose()

    async def state(self) -> BreakerState:
        try:
            left_ms, half = await self._read()
        except (redis.exceptions.RedisError, OSError):
            return BreakerState.CLOSED
        state = (
            BreakerState.OPEN
            if left_ms > 0
            else BreakerState.HALF_OPEN
            if half
            else BreakerState.CLOSED
        )
        _seen(state)
        return state


class LocalGuard:
    """:class:`Guard` of one process (no rate cap): for tests and tools without Redis."""

    def __init__(
        self,
        *,
        breaker_failures: int = 5,
        breaker_window_seconds: float = 60.0,
        breaker_cooldown_seconds: float = 30.0,
    ) -> None:
        self._threshold = breaker_failures
        self._window = breaker_window_seconds
        self._cooldown = breaker_cooldown_seconds
        self._failures: list[float] = []
        self._open_until = 0.0
        self._half = False

    async def admit(self) -> None:
        left = self._open_until - time.monotonic()
        if left > 0:
            _seen(BreakerState.OPEN)
            REQUESTS.labels("circuit_open").inc()
            raise Refusal("the Jira circuit breaker is open", left)
        _seen(BreakerState.HALF_OPEN if self._half else BreakerState.CLOSED)

    async def succeeded(self) -> None:
        self._failures.clear()
        self._half = False
        _seen(BreakerState.CLOSED)

    async def failed(self) -> None:
        now = time.monotonic()
        self._failures = [t for t in self._failures if now - t < self._window] + [now]
        if self._half or len(self._failures) >= self._threshold:
            self._open_until = now + self._cooldown
            self._half = True
            self._failures.clear()
            CIRCUIT_OPENED.inc()
            _seen(BreakerState.OPEN)

    async def state(self) -> BreakerState:
        if self._open_until > time.monotonic():
            state = BreakerState.OPEN
        else:
            state = BreakerState.HALF_OPEN if self._half else BreakerState.CLOSED
        _seen(state)
        return state
