"""Edges of the core's small rules that the broader tests pass over: exact bounds, what an error
says, which timeout a step gets."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from govflow.core.durations import DurationError, format_duration, parse_duration
from govflow.core.retry import RetrySchedule
from govflow.core.spec import StepSpec, WorkflowSpec, effective_timeout
from govflow.core.validation import validate_workflow


def test_a_duration_of_forty_characters_is_read_and_one_more_is_not() -> None:
    forty = "0" * 38 + "5s"
    assert len(forty) == 40
    assert parse_duration(forty) == timedelta(seconds=5)
    with pytest.raises(DurationError):
        parse_duration("0" + forty)


def test_ten_years_is_the_longest_duration() -> None:
    assert parse_duration("3650d") == timedelta(days=3650)
    with pytest.raises(DurationError, match="longer than 3650 days"):
        parse_duration("3650d1ms")


def test_duration_errors_quote_the_text() -> None:
    with pytest.raises(DurationError, match="got 'soon'"):
        parse_duration("soon")
    with pytest.raises(DurationError, match="cannot be negative, got -1 day"):
        format_duration(timedelta(seconds=-1))


def test_a_retry_may_follow_at_once_but_not_before() -> None:
    assert RetrySchedule(initial_delay=timedelta(0)).initial_delay == timedelta(0)
    with pytest.raises(ValueError, match="initial_delay must not be negative"):
        RetrySchedule(initial_delay=timedelta(seconds=-1))


WORKFLOW = """
name: timeouts
title: Timeouts
department: general
defaults: {timeout: 45s}
steps:
  - {id: own, action: echo, timeout: 2m}
  - {id: inherited, action: echo}
"""


class _Echo(msgspec.Struct, frozen=True):
    value: str = ""


def _spec() -> WorkflowSpec:
    return validate_workflow(WORKFLOW, "timeouts.yaml", {"echo": _Echo})


def test_a_step_runs_under_its_own_timeout_else_the_default() -> None:
    spec = _spec()
    assert effective_timeout(spec, spec.step("own")) == timedelta(minutes=2)
    assert effective_timeout(spec, spec.step("inherited")) == timedelta(seconds=45)


def test_an_unknown_step_is_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError) as caught:
        _spec().step("missing")
    assert caught.value.args == ("missing",)
    assert isinstance(_spec().steps[0], StepSpec)
