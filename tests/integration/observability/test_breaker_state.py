"""The generic breaker-state gauge: one series per state, the current one at 1."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from govflow.adapters.breaker_metrics import report_breaker_state
from govflow.core.breakers import BreakerState


def _state(breaker: str, state: BreakerState) -> float | None:
    return REGISTRY.get_sample_value(
        "govflow_breaker_state", {"breaker": breaker, "state": state.value}
    )


def test_the_current_state_is_one_and_the_others_zero() -> None:
    report_breaker_state("test-breaker", BreakerState.OPEN)
    assert _state("test-breaker", BreakerState.OPEN) == 1
    assert _state("test-breaker", BreakerState.CLOSED) == 0
    assert _state("test-breaker", BreakerState.HALF_OPEN) == 0
    report_breaker_state("test-breaker", "half_open")
    assert _state("test-breaker", BreakerState.OPEN) == 0
    assert _state("test-breaker", BreakerState.HALF_OPEN) == 1


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="ajar"):
        report_breaker_state("test-breaker", "ajar")
