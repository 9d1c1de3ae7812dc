"""Execution inputs against the spec."""

from __future__ import annotations

from typing import Any

import pytest

from govflow.core.inputs import InputError, validate_execution_inputs
from govflow.core.validation import validate_workflow

from .actions import TEST_ACTIONS

SPEC = validate_workflow(
    """
name: inputs
title: Inputs
department: testing
inputs:
  key: {type: string, pattern: "^[A-Z]+-[0-9]+$", max_length: 10}
  n: {type: integer, minimum: 1, maximum: 5, default: 2}
  ratio: {type: number, required: false}
  ok: {type: boolean, default: false}
  level: {type: enum, values: [low, high], default: low}
  tags: {type: array, items: string, min_items: 1, required: false}
  extra: {type: object, required: false}
steps:
  - {id: a, action: echo, with: {message: hi}}
""",
    "inputs.yaml",
    TEST_ACTIONS,
)


def test_defaults_applied() -> None:
    assert validate_execution_inputs(SPEC, {"key": "AB-1"}) == {
        "key": "AB-1",
        "n": 2,
        "ratio": None,
        "ok": False,
        "level": "low",
        "tags": None,
        "extra": None,
    }


@pytest.mark.parametrize(
    ("given", "path", "message"),
    [
        ({}, "inputs.key", "is required"),
        ({"key": "ab"}, "inputs.key", "does not match the pattern"),
        ({"key": "ABCDEFGHIJ-1"}, "inputs.key", "length must be at most 10"),
        ({"key": 5}, "inputs.key", "expected a string, got 5"),
        ({"key": "A-1", "n": 9}, "inputs.n", "value must be at most 5"),
        ({"key": "A-1", "n": True}, "inputs.n", "expected an integer"),
        ({"key": "A-1", "ratio": "x"}, "inputs.ratio", "expected a number"),
        ({"key": "A-1", "ok": 1}, "inputs.ok", "expected true or false"),
        ({"key": "A-1", "level": "mid"}, "inputs.level", "must be one of 'low', 'high'"),
        ({"key": "A-1", "tags": []}, "inputs.tags", "number of items must be at least 1"),
        ({"key": "A-1", "tags": [1]}, "inputs.tags", "item [0]: expected a string"),
        ({"key": "A-1", "extra": []}, "inputs.extra", "expected a mapping"),
        ({"key": "A-1", "nope": 1}, "inputs.nope", "unknown input"),
    ],
)
def test_refused(given: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        validate_execution_inputs(SPEC, given)
    assert any(p == path and message in m for p, m in caught.value.problems), caught.value.problems


def test_all_problems_reported() -> None:
    with pytest.raises(InputError) as caught:
        validate_execution_inputs(SPEC, {"n": 0, "zzz": 1})
    assert sorted(p for p, _ in caught.value.problems) == ["inputs.key", "inputs.n", "inputs.zzz"]
