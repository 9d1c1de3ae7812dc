"""Workflow outputs: types, the outputs step that computes them, rehearsals."""

from __future__ import annotations

import pytest

from govflow.core.outputs import check_outputs, describe, fits
from govflow.core.spec import OUTPUTS_ACTION, OUTPUTS_STEP_ID, step_at, step_count
from govflow.core.validation import validate_workflow
from govflow.testing.rehearsal import rehearse

from .actions import TEST_ACTIONS

WORKFLOW = """
name: quoted
title: Quoted
department: testing
inputs:
  n: {type: integer}
steps:
  - {id: first, action: echo, with: {message: "n is {{ inputs.n }}"}}
outputs:
  doubled: {value: "{{ inputs.n * 2 }}", type: integer}
  text: {value: "n={{ inputs.n }}"}
"""


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("a", "string", True),
        (1, "string", False),
        (1, "integer", True),
        (1.5, "integer", False),
        (True, "integer", False),
        (1, "number", True),
        (1.5, "number", True),
        (True, "number", False),
        (False, "boolean", True),
        (0, "boolean", False),
        ([1], "array", True),
        ({"a": 1}, "array", False),
        ({"a": 1}, "object", True),
        (None, "object", False),
    ],
)
def test_fits(value: object, kind: str, expected: bool) -> None:
    assert fits(value, kind) is expected  # type: ignore[arg-type]


def test_describe_names_json_kinds() -> None:
    assert [describe(v) for v in ("a", True, 1, 1.5, [], {}, None)] == [
        "text",
        "a boolean",
        "an integer",
        "a number",
        "an array",
        "an object",
        "null",
    ]


def test_describe_names_any_other_value_by_its_type() -> None:
    assert [describe(v) for v in ((1,), {1}, b"x")] == ["an array", "set", "bytes"]


def test_the_outputs_step_follows_the_steps_of_the_file() -> None:
    spec = validate_workflow(WORKFLOW, "quoted.yaml", TEST_ACTIONS)
    assert step_count(spec) == 2
    assert step_at(spec, 0) is spec.steps[0]
    last = step_at(spec, 1)
    assert (last.id, last.action) == (OUTPUTS_STEP_ID, OUTPUTS_ACTION)
    assert last.with_ == {"doubled": "{{ inputs.n * 2 }}", "text": "n={{ inputs.n }}"}
    assert last.retry is not None
    assert last.retry.max_attempts == 1
    with pytest.raises(IndexError):
        step_at(spec, 2)
    without = validate_workflow(WORKFLOW.split("outputs:")[0], "plain.yaml", TEST_ACTIONS)
    assert step_count(without) == 1
    with pytest.raises(IndexError):
        step_at(without, 1)


def test_check_outputs_reports_each_value_that_does_not_fit() -> None:
    spec = validate_workflow(WORKFLOW, "quoted.yaml", TEST_ACTIONS)
    assert check_outputs(spec, {"doubled": 4, "text": 3}) == []
    assert check_outputs(spec, {"doubled": "4"}) == ["outputs.doubled: expected integer, got text"]


def test_a_rehearsal_computes_the_outputs() -> None:
    run = rehearse(WORKFLOW, {"n": 2}, {"first": {}}, actions=TEST_ACTIONS)
    assert run.workflow_outputs == {"doubled": 4, "text": "n=2"}
    typed = WORKFLOW.replace('"n={{ inputs.n }}"}', '"n={{ inputs.n }}", type: boolean}')
    failed = rehearse(typed, {"n": 2}, {"first": {}}, actions=TEST_ACTIONS)
    assert (
        failed.error == "step 'outputs': OUTPUTS_INVALID: outputs.text: expected boolean, got text"
    )
