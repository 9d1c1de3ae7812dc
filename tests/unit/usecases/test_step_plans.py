"""A step's plan is what the spec says of it, worked out once per workflow version and
position, and forgotten when too many are kept."""

from __future__ import annotations

from uuid import uuid4

from govflow.core.spec import WorkflowSpec, effective_retry, step_at
from govflow.core.validation import validate_workflow
from govflow.usecases.step_plans import StepPlans
from govflow.usecases.translate import retry_schedule

from .world import World, workflow

LIST = workflow(
    "{id: a, action: echo, with: {value: 1}, timeout: 7s}",
    '{id: b, action: echo, retry: {max_attempts: 5}, with: {value: "{{ steps.a.output }}"}}',
)
GRAPH = workflow(
    "{id: a, action: echo}",
    "{id: b, action: echo, needs: [a]}",
    "{id: c, action: echo, needs: [a]}",
    "{id: d, action: echo, needs: [b, c], compensate: {action: echo}}",
)


def spec_of(text: str) -> WorkflowSpec:
    return validate_workflow(text, "<test>", World().registry.inputs())


def test_a_plan_says_what_the_spec_says_of_the_step() -> None:
    spec = spec_of(LIST)
    plans = StepPlans()
    version = uuid4()
    first, last = plans.plan(version, spec, 0), plans.plan(version, spec, 1)
    assert first.step is step_at(spec, 0)
    assert first.timeout_seconds == 7.0
    assert last.timeout_seconds == 300.0  # the workflow's default, 5m
    assert last.retry == retry_schedule(effective_retry(spec, step_at(spec, 1)))
    assert last.retry.max_attempts == 5
    assert first.retry.max_attempts == 3
    assert (first.is_last_step, last.is_last_step) == (False, True)
    assert first.dependents is None
    assert last.dependents is None
    assert first.handlers_from is None
    assert first.with_inline
    assert last.with_inline


def test_in_a_graph_a_plan_names_the_dependents_and_where_the_handlers_start() -> None:
    spec = spec_of(GRAPH)
    plans = StepPlans()
    version = uuid4()
    a, b, d = (plans.plan(version, spec, p) for p in (0, 1, 3))
    assert a.dependents == (1, 2)
    assert b.dependents == (3,)
    assert (a.is_last_step, d.is_last_step) == (False, True)
    assert a.handlers_from == 4  # after the four steps, the compensation of d


def test_a_plan_is_worked_out_once_per_version_and_position() -> None:
    spec = spec_of(LIST)
    plans = StepPlans()
    version = uuid4()
    assert plans.plan(version, spec, 0) is plans.plan(version, spec, 0)
    assert plans.plan(version, spec, 0) is not plans.plan(uuid4(), spec, 0)
    assert plans.plan(version, spec, 0) is not plans.plan(version, spec, 1)


def test_when_too_many_are_kept_the_plans_start_over() -> None:
    spec = spec_of(LIST)
    plans = StepPlans(kept=2)
    version = uuid4()
    first = plans.plan(version, spec, 0)
    plans.plan(version, spec, 1)
    assert plans.plan(version, spec, 0) is first
    plans.plan(uuid4(), spec, 0)  # a third: the two kept are forgotten
    assert plans.plan(version, spec, 0) is not first
    assert plans.plan(version, spec, 0) == first


def test_a_with_block_that_loops_is_not_rendered_inline() -> None:
    looping = '{id: a, action: echo, with: {value: "{% for i in inputs.n %}{{ i }}{% endfor %}"}}'
    spec = spec_of(workflow(looping))
    assert not StepPlans().plan(uuid4(), spec, 0).with_inline
