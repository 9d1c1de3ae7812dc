"""validate_workflow on valid files, spec helpers, and run-time input conversion."""

from __future__ import annotations

from datetime import timedelta

import pytest

from govflow.core.spec import effective_retry, effective_timeout
from govflow.core.spec_errors import SpecError
from govflow.core.validation import convert_action_inputs, validate_workflow

from .actions import TEST_ACTIONS, AssignInput, EchoInput

VALID = """
name: ok
title: OK
department: testing
inputs:
  n: {type: integer, default: 2}
  who: {type: string}
defaults:
  retry: {max_attempts: 4, backoff: fixed, initial_delay: 2s}
  timeout: 30s
steps:
  - id: first
    action: echo
    with: {message: "hi {{ inputs.who }}", count: "{{ inputs.n }}"}
  - id: second
    action: assign
    if: "steps.first.status == 'SUCCEEDED'"
    timeout: 1h
    retry: {max_attempts: 9}
    with:
      title: "{{ steps.first.output.text }}"
      assignee: "{{ inputs.who }}"
"""


def test_valid_workflow() -> None:
    spec = validate_workflow(VALID, "ok.yaml", TEST_ACTIONS)
    assert spec.name == "ok"
    assert spec.steps[1].if_ == "steps.first.status == 'SUCCEEDED'"
    assert spec.steps[0].with_["count"] == "{{ inputs.n }}"
    assert spec.step("second").timeout == "1h"
    with pytest.raises(KeyError):
        spec.step("nope")


def test_effective_policies() -> None:
    spec = validate_workflow(VALID, "ok.yaml", TEST_ACTIONS)
    first, second = spec.steps
    assert effective_retry(spec, first).max_attempts == 4
    merged = effective_retry(spec, second)
    assert (merged.max_attempts, merged.backoff, merged.initial_delay_delta) == (
        9,
        "fixed",
        timedelta(seconds=2),
    )
    assert merged.max_delay_delta == timedelta(minutes=5)
    assert effective_timeout(spec, first) == timedelta(seconds=30)
    assert effective_timeout(spec, second) == timedelta(hours=1)


def test_all_problems_at_once() -> None:
    text = VALID.replace("backoff: fixed", "backoff: linear").replace("action: assign", "action: x")
    with pytest.raises(SpecError) as caught:
        validate_workflow(text, "ok.yaml", TEST_ACTIONS)
    assert [p.path for p in caught.value.problems] == ["defaults.retry.backoff", "steps[1].action"]


def test_action_post_init_checks_run_without_templates() -> None:
    text = VALID.replace('title: "{{ steps.first.output.text }}"', "title: ''")
    text = text.replace('assignee: "{{ inputs.who }}"', "assignee: {role: a}")
    with pytest.raises(SpecError, match=r"steps\[1\]\.with: length must be at least 1"):
        validate_workflow(text, "ok.yaml", {**TEST_ACTIONS, "assign": _NonEmptyTitle})


def test_convert_action_inputs_after_rendering() -> None:
    assert convert_action_inputs(EchoInput, {"message": "m", "count": 3}) == EchoInput("m", 3)
    with pytest.raises(ValueError, match=r"with\.count: expected an integer, got '3'"):
        convert_action_inputs(EchoInput, {"message": "m", "count": "3"})
    with pytest.raises(ValueError, match=r"with\.assignee: expected a mapping"):
        convert_action_inputs(AssignInput, {"title": "t", "assignee": "bob"})


class _NonEmptyTitle(AssignInput, frozen=True):
    def __post_init__(self) -> None:
        if not self.title:
            raise ValueError("length must be at least 1")
