"""Attempt limits for the unauthenticated and credential-checking endpoints, as use cases see them.

A :class:`Limit` names one counter (``kind`` + ``subject``: an address, an account, an account
from one address) with its ceiling and window. :class:`Attempts` checks several limits and counts
the attempt in one atomic step: when any limit is reached nothing is counted and the answer is the
wait, so a client that keeps trying while refused never pushes another counter up (an attacker
hammering from one address cannot fill the account-wide counter with refused attempts).

:class:`KnownSources` remembers the addresses an account logged in from; :class:`RefusalTally`
aggregates refusals so that an anonymous client cannot add one audit row per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec


class Limit(msgspec.Struct, frozen=True):
    """At most ``max_attempts`` attempts per ``window_seconds`` for one ``kind``/``subject``."""

    kind: str
    subject: str
    max_attempts: int
    window_seconds: int


class Verdict(msgspec.Struct, frozen=True):
    """The outcome of an attempt: allowed (``wait == 0``), or refused by ``limit``."""

    wait: int = 0
    limit: Limit | None = None

    @property
    def refused(self) -> bool:
        return self.wait > 0


ALLOWED = Verdict()


class Tally(msgspec.Struct, frozen=True, kw_only=True):
    """Refusals of one limit: ``count`` so far in the current aggregation window, and the total
    of the previous window of the same limit (``0`` when there was none)."""

    count: int
    previous: int

    @property
    def first(self) -> bool:
        """The first refusal of the window: the one that is audited."""
        return self.count == 1


class Attempts(Protocol):
    """Attempt counters shared by every API process."""

    async def attempt(self, limits: Sequence[Limit]) -> Verdict:
        """Count one attempt against every limit, unless one is reached (then count none)."""
        ...

    async def refund(self, limits: Sequence[Limit]) -> None:
        """Take back one counted attempt (a successful login is not a failure)."""
        ...

    async def clear(self, limit: Limit) -> None:
        """Forget every attempt of one limit."""
        ...


class KnownSources(Protocol):
    """Addresses from which an account logged in successfully, for a while."""

    async def remember(self, account: str, address: str, seconds: int) -> None: ...

    async def known(self, account: str, address: str) -> bool: ...


class RefusalTally(Protocol):
    """Counts refusals per limit in windows of the limit's length."""

    async def refused(self, limit: Limit) -> Tally: ...
