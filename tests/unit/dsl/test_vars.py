"""``vars:``: evaluated from the inputs alone, in order, one budget; failures name the variable."""

from __future__ import annotations

import pytest

from govflow.core.expression_limits import Budget, ExpressionLimits
from govflow.core.expressions import VarError, build_context, evaluate_vars, render
from govflow.testing.rehearsal import rehearse
from govflow.usecases.expression_runner import ExpressionRunner


def test_vars_render_against_the_inputs_keeping_native_types() -> None:
    values = evaluate_vars(
        {"subject": "Permit {{ inputs.key }}", "n": "{{ inputs.n + 1 }}", "fixed": [1, "a"]},
        {"key": "P-1", "n": 2},
    )
    assert values == {"subject": "Permit P-1", "n": 3, "fixed": [1, "a"]}


def test_a_failing_variable_is_named() -> None:
    with pytest.raises(VarError) as caught:
        evaluate_vars({"ok": "{{ inputs.n }}", "bad": "{{ inputs.missing }}"}, {"n": 1})
    assert caught.value.name == "bad"
    assert "missing" in str(caught.value)


def test_vars_see_nothing_but_the_inputs() -> None:
    with pytest.raises(VarError) as caught:
        evaluate_vars({"x": "{{ steps }}"}, {})
    assert caught.value.name == "x"


def test_all_variables_share_one_budget() -> None:
    limits = ExpressionLimits(max_produced=100)
    templates = {"a": "{{ 'x' * 60 }}", "b": "{{ 'y' * 60 }}"}
    assert evaluate_vars({"a": templates["a"]}, {}, Budget(limits))["a"] == "x" * 60
    with pytest.raises(VarError) as caught:
        evaluate_vars(templates, {}, Budget(limits))
    assert caught.value.name == "b"


def test_steps_read_vars_from_the_context() -> None:
    context = build_context({"who": "ada"}, variables={"greeting": "Hello ada"})
    assert render("{{ vars.greeting }}!", context) == "Hello ada!"


async def test_the_runner_evaluates_vars_inline_or_in_a_thread() -> None:
    runner = ExpressionRunner()
    assert await runner.variables({"a": "{{ inputs.n * 2 }}"}, {"n": 4}) == {"a": 8}
    heavy = "{% for i in range(3) %}{% endfor %}" * 200  # long: never evaluated inline
    with pytest.raises(VarError):
        await runner.variables({"a": heavy}, {})


WORKFLOW = """
name: rehearsed-vars
title: Rehearsed variables
department: testing
inputs:
  amount: {type: number}
vars:
  large: "{{ inputs.amount > 1000 }}"
steps:
  - id: review
    action: notification
    if: vars.large
    with: {channel: log, message: "large: {{ inputs.amount }}"}
"""


def test_a_rehearsal_evaluates_vars() -> None:
    assert rehearse(WORKFLOW, {"amount": 5000}, {"review": {}}).sequence == ["review"]
    assert rehearse(WORKFLOW, {"amount": 5}, {}).skipped == ["review"]
