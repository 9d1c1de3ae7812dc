"""The rate-limit scheme without Redis: which limits a request meets, which one is reported."""

from __future__ import annotations

from collections.abc import Sequence

from govflow.http.rate_limit import rate_headers
from govflow.usecases.rate_limits import (
    GLOBAL,
    PER_CLIENT,
    UNCHECKED,
    RateLimit,
    RateLimits,
    RatePolicy,
    RateVerdict,
    Usage,
)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[list[RateLimit]] = []

    async def hit(self, limits: Sequence[RateLimit]) -> RateVerdict:
        self.seen.append(list(limits))
        return RateVerdict(allowed=True, usages=tuple(Usage(limit, 1, 60) for limit in limits))


async def test_limits_that_are_off_are_not_counted() -> None:
    counter = Recorder()
    off = RateLimits(counter, RatePolicy(global_ceiling=0, client_ceiling=0, window_seconds=60))
    assert await off.hit("ip:1.2.3.4") is UNCHECKED
    client_only = RateLimits(
        counter, RatePolicy(global_ceiling=0, client_ceiling=5, window_seconds=30)
    )
    await client_only.hit("user:42")
    assert counter.seen == [[RateLimit(PER_CLIENT, "user:42", 5, 30)]]


async def test_both_limits_are_counted_together() -> None:
    counter = Recorder()
    limits = RateLimits(counter, RatePolicy(global_ceiling=9, client_ceiling=3, window_seconds=60))
    await limits.hit("ip:10.0.0.1")
    assert counter.seen == [
        [RateLimit(GLOBAL, "all", 9, 60), RateLimit(PER_CLIENT, "ip:10.0.0.1", 3, 60)]
    ]


def test_the_reported_limit_is_the_closest_to_refusing() -> None:
    wide = RateLimit(GLOBAL, "all", 100, 60)
    narrow = RateLimit(PER_CLIENT, "user:1", 3, 60)
    allowed = RateVerdict(allowed=True, usages=(Usage(wide, 10, 50), Usage(narrow, 2, 20)))
    assert allowed.tightest == Usage(narrow, 2, 20)
    headers = dict(rate_headers(allowed))
    assert headers == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "1",
        "RateLimit-Reset": "20",
        "RateLimit-Policy": "100;w=60, 3;w=60",
    }
    refused = RateVerdict(allowed=False, usages=(Usage(wide, 100, 40), Usage(narrow, 1, 5)))
    assert refused.tightest == Usage(wide, 100, 40)
    assert dict(rate_headers(refused))["Retry-After"] == "40"
    assert rate_headers(UNCHECKED) == []
