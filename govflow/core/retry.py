"""When to retry a step after a technical failure: a schedule in, a decision out.

:class:`RetrySchedule` is the engine's resolved form of a step's retry policy (the DSL's
``RetryPolicy`` in :mod:`govflow.core.spec` writes durations as strings; the loader turns it into
this). :func:`decide_retry` does nothing but compute: it reads no clock (``now`` is passed in) and
draws no random number (``rand`` in ``[0, 1)`` is passed in, e.g. ``random.Random().random()``).

Delays, for the attempt ``n`` that just failed (1-based):

- ``fixed``: ``initial_delay``;
- ``exponential``: ``initial_delay * 2 ** (n - 1)``;

both capped at ``max_delay``. With jitter, *equal* jitter (the default) waits
``d / 2 + rand * d / 2`` (never less than half the delay), *full* jitter waits ``rand * d``.

A failure may name the least wait itself (``retry_after``: a plugin's
``TechnicalError(retry_after=...)``, a remote service's ``Retry-After``). The delay is then
``max(backoff delay, retry_after)``: the remote side knows that an earlier attempt is wasted, so
its wish overrides the step's ``max_delay``, but it is capped at :data:`RETRY_AFTER_CAP` (an
hour) so that no answer can park a step for days; a negative ``retry_after`` counts as none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Backoff(StrEnum):
    """How the delay grows from one attempt to the next."""

    EXPONENTIAL = "exponential"
    FIXED = "fixed"


class JitterMode(StrEnum):
    """How ``rand`` spreads a delay when jitter is on."""

    EQUAL = "equal"
    """Wait between half the delay and the delay."""
    FULL = "full"
    """Wait between zero and the delay."""


RETRY_AFTER_CAP = timedelta(hours=1)
"""The longest wait a failure's ``retry_after`` can impose."""

_MAX_EXPONENT = 64
"""Beyond this many doublings every realistic delay is capped anyway; avoids huge numbers."""


@dataclass(frozen=True)
class RetrySchedule:
    """A step's retry policy with durations resolved to timedeltas."""

    max_attempts: int = 3
    """Attempts in total, the first one included (1 means never retry)."""
    backoff: Backoff = Backoff.EXPONENTIAL
    initial_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=5)
    jitter: bool = True
    jitter_mode: JitterMode = JitterMode.EQUAL

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.initial_delay < timedelta(0):
            raise ValueError(f"initial_delay must not be negative, got {self.initial_delay}")
        if self.max_delay < self.initial_delay:
            raise ValueError(
                f"max_delay ({self.max_delay}) must not be below initial_delay "
                f"({self.initial_delay})"
            )


@dataclass(frozen=True)
class RetryDecision:
    """Retry at ``next_attempt_at``, or give up when it is ``None``."""

    next_attempt_at: datetime | None
    delay: timedelta | None = None

    @property
    def should_retry(self) -> bool:
        """Whether another attempt is scheduled."""
        return self.next_attempt_at is not None


GIVE_UP = RetryDecision(next_attempt_at=None)


def retry_delay(schedule: RetrySchedule, attempt: int, rand: float) -> timedelta:
    """The wait after attempt number ``attempt`` (1-based) failed, jitter applied."""
    _check_attempt(attempt)
    _check_rand(rand)
    base = schedule.initial_delay
    if schedule.backoff is Backoff.EXPONENTIAL:
        factor = 2 ** min(attempt - 1, _MAX_EXPONENT)
        # In float seconds: a huge timedelta product would overflow. The factor is a power of
        # two, so the product is exact, and it comes back to the same microseconds.
        seconds = min(base.total_seconds() * factor, schedule.max_delay.total_seconds())
        base = timedelta(seconds=seconds)
    base = min(base, schedule.max_delay)
    if not schedule.jitter:
        return base
    if schedule.jitter_mode is JitterMode.FULL:
        return base * rand
    half = base / 2
    return half + half * rand


def honoured_delay(backoff: timedelta, retry_after: timedelta | None) -> timedelta:
    """The wait once a failure's ``retry_after`` is honoured: the longer of the two, the
    ``retry_after`` capped at :data:`RETRY_AFTER_CAP` (never below ``backoff``)."""
    if retry_after is None:
        return backoff
    return max(backoff, min(retry_after, RETRY_AFTER_CAP))


def decide_retry(
    schedule: RetrySchedule,
    attempt: int,
    now: datetime,
    rand: float,
    retry_after: timedelta | None = None,
) -> RetryDecision:
    """Decide what follows the failure of attempt number ``attempt`` (1-based).

    Gives up once ``attempt`` reaches ``schedule.max_attempts``; otherwise schedules the next
    attempt at ``now`` plus :func:`retry_delay`, or plus ``retry_after`` when the failure asked
    for a longer wait (:func:`honoured_delay`).
    """
    _check_attempt(attempt)
    _check_rand(rand)
    if attempt >= schedule.max_attempts:
        return GIVE_UP
    delay = honoured_delay(retry_delay(schedule, attempt, rand), retry_after)
    return RetryDecision(next_attempt_at=now + delay, delay=delay)


def _check_attempt(attempt: int) -> None:
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt}")


def _check_rand(rand: float) -> None:
    if not 0.0 <= rand < 1.0:
        raise ValueError(f"rand must be in [0, 1), got {rand}")
