"""Request rate limits: one for the whole deployment, one per client, in fixed windows.

A client is the authenticated user (the subject of a valid access token) or, without one, the
client's address. Every request is checked against both limits at once; when either is reached
the request is refused and counted in neither (a refused client does not use up the global
budget), otherwise it is counted in both. A limit of ``0`` is off. The counts live in Redis,
shared by every API process; when Redis cannot be reached the request goes through (the limit
protects the service, it must not be the reason it fails).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

GLOBAL = "global"
PER_CLIENT = "client"


class RateLimit(msgspec.Struct, frozen=True):
    """At most ``ceiling`` requests per ``window_seconds`` for one ``name``/``subject``."""

    name: str
    subject: str
    ceiling: int
    window_seconds: int


class Usage(msgspec.Struct, frozen=True):
    """One limit after a request: its requests counted in the window and the seconds left."""

    limit: RateLimit
    used: int
    reset_seconds: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit.ceiling - self.used)


class RateVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a request: allowed or not, and the usage of every limit checked."""

    allowed: bool
    usages: tuple[Usage, ...] = ()

    @property
    def tightest(self) -> Usage | None:
        """The usage to report: the refusing limit, or the one with the fewest left."""
        if not self.usages:
            return None
        if not self.allowed:
            full = [usage for usage in self.usages if usage.remaining == 0]
            return max(full or self.usages, key=lambda usage: usage.reset_seconds)
        return min(self.usages, key=lambda usage: (usage.remaining, -usage.reset_seconds))


UNCHECKED = RateVerdict(allowed=True)


class RateCounter(Protocol):
    """Request counters shared by every API process."""

    async def hit(self, limits: Sequence[RateLimit]) -> RateVerdict:
        """Count one request against every limit, unless one is reached (then count none);
        :data:`UNCHECKED` when the counters cannot be reached."""
        ...


class RatePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The numbers of the scheme (settings); ``0`` turns a limit off."""

    global_ceiling: int
    client_ceiling: int
    window_seconds: int

    @property
    def enabled(self) -> bool:
        return self.global_ceiling > 0 or self.client_ceiling > 0


class RateLimits:
    """See the module docstring."""

    def __init__(self, counter: RateCounter, policy: RatePolicy) -> None:
        self._counter = counter
        self.policy = policy

    async def hit(self, client: str) -> RateVerdict:
        """Count a request of ``client`` (``user:<id>`` or ``ip:<address>``)."""
        limits = []
        if self.policy.global_ceiling > 0:
            limits.append(
                RateLimit(GLOBAL, "all", self.policy.global_ceiling, self.policy.window_seconds)
            )
        if self.policy.client_ceiling > 0:
            limits.append(
                RateLimit(
                    PER_CLIENT, client, self.policy.client_ceiling, self.policy.window_seconds
                )
            )
        if not limits:
            return UNCHECKED
        return await self._counter.hit(limits)
