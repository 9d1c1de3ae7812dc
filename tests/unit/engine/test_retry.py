"""Backoff growth, cap and jitter bounds of ``decide_retry``; no clock, no randomness."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from govflow.core.retry import (
    GIVE_UP,
    Backoff,
    JitterMode,
    RetrySchedule,
    decide_retry,
    retry_delay,
)

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
S = timedelta(seconds=1)


def schedule(**overrides: Any) -> RetrySchedule:
    base = RetrySchedule(max_attempts=5, initial_delay=S, max_delay=60 * S, jitter=False)
    return replace(base, **overrides)


@pytest.mark.parametrize(("attempt", "expected"), [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16)])
def test_exponential_doubles_from_the_initial_delay(attempt: int, expected: int) -> None:
    assert retry_delay(schedule(), attempt, 0.0) == expected * S


@pytest.mark.parametrize("attempt", [7, 8, 64, 65, 10_000])
def test_exponential_is_capped_at_max_delay_without_overflow(attempt: int) -> None:
    assert retry_delay(schedule(), attempt, 0.0) == 60 * S


@pytest.mark.parametrize("attempt", [1, 2, 9])
def test_fixed_backoff_waits_the_initial_delay(attempt: int) -> None:
    assert retry_delay(schedule(backoff=Backoff.FIXED, initial_delay=3 * S), attempt, 0.5) == 3 * S


def test_fixed_backoff_is_capped_too() -> None:
    fixed = schedule(backoff=Backoff.FIXED, initial_delay=10 * S, max_delay=10 * S)
    assert retry_delay(fixed, 1, 0.0) == 10 * S


@pytest.mark.parametrize("attempt", [1, 3, 6, 7, 20])
def test_equal_jitter_stays_between_half_and_the_whole_delay(attempt: int) -> None:
    jittered = schedule(jitter=True, jitter_mode=JitterMode.EQUAL)
    base = retry_delay(schedule(), attempt, 0.0)
    rng = random.Random(attempt)
    delays = [retry_delay(jittered, attempt, rng.random()) for _ in range(200)]
    assert all(base / 2 <= d <= base for d in delays)
    assert retry_delay(jittered, attempt, 0.0) == base / 2
    assert len(set(delays)) > 1


@pytest.mark.parametrize("attempt", [1, 3, 6, 7, 20])
def test_full_jitter_stays_between_zero_and_the_whole_delay(attempt: int) -> None:
    jittered = schedule(jitter=True, jitter_mode=JitterMode.FULL)
    base = retry_delay(schedule(), attempt, 0.0)
    rng = random.Random(attempt)
    assert all(
        timedelta(0) <= retry_delay(jittered, attempt, rng.random()) < base for _ in range(200)
    )
    assert retry_delay(jittered, attempt, 0.0) == timedelta(0)
    assert retry_delay(jittered, attempt, 0.5) == base / 2


def test_jitter_is_on_and_equal_by_default() -> None:
    default = RetrySchedule()
    assert default.jitter
    assert default.jitter_mode is JitterMode.EQUAL


def test_decide_retry_schedules_from_now() -> None:
    decision = decide_retry(schedule(), 3, NOW, 0.0)
    assert decision.should_retry
    assert decision.next_attempt_at == NOW + 4 * S
    assert decision.delay == 4 * S


@pytest.mark.parametrize(("attempt", "retries"), [(1, True), (4, True), (5, False), (6, False)])
def test_decide_retry_gives_up_once_max_attempts_is_reached(attempt: int, retries: bool) -> None:
    decision = decide_retry(schedule(max_attempts=5), attempt, NOW, 0.3)
    assert decision.should_retry is retries
    if not retries:
        assert decision == GIVE_UP


def test_a_single_attempt_never_retries() -> None:
    assert decide_retry(schedule(max_attempts=1), 1, NOW, 0.0) == GIVE_UP


@pytest.mark.parametrize("rand", [-0.1, 1.0, 1.5])
def test_rand_must_be_in_the_unit_interval(rand: float) -> None:
    with pytest.raises(ValueError, match="rand"):
        decide_retry(schedule(), 1, NOW, rand)


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError, match="attempt"):
        decide_retry(schedule(), 0, NOW, 0.0)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"initial_delay": -S}, "initial_delay"),
        ({"initial_delay": 10 * S, "max_delay": 5 * S}, "max_delay"),
    ],
)
def test_schedule_rejects_nonsense(overrides: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        schedule(**overrides)
