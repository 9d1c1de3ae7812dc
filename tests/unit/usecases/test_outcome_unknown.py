"""``StepRunner`` and attempts whose outcome is unknown: an ``at_most_once`` step goes to
``NEEDS_ATTENTION`` (``OutcomeUnknown``, a timeout, an unexpected exception) and is never run
again; another strategy retries."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import pytest

from govflow.core.audit_events import AuditEvent as A
from govflow.core.idempotency import Idempotency
from govflow.core.statuses import AttemptOutcome
from govflow.core.statuses import ExecutionStatus as X
from govflow.core.statuses import StepStatus as S
from govflow.plugins import ActionContext, OutcomeUnknown

from .world import ValueInputs, World, _Test, workflow


class Uncertain(_Test):
    """Ends its first attempt the way ``how`` says, then succeeds."""

    name: ClassVar[str] = "uncertain"
    idempotency: ClassVar[Idempotency] = Idempotency.AT_MOST_ONCE

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how

    async def run(self, ctx: ActionContext, params: ValueInputs) -> Mapping[str, Any]:
        if len(self.calls) > 1:
            return {"value": params.value}
        if self.how == "unknown":
            raise OutcomeUnknown("the connection broke after DATA", details={"outcome": "unknown"})
        if self.how == "timeout":
            await asyncio.Event().wait()  # the step's timeout ends it
        raise RuntimeError("the plugin has a bug")


class UncertainKeyed(Uncertain):
    name: ClassVar[str] = "uncertain_keyed"
    idempotency: ClassVar[Idempotency] = Idempotency.REMOTE_KEY


@pytest.mark.parametrize(
    ("how", "code"),
    [("unknown", "OUTCOME_UNKNOWN"), ("timeout", "TIMEOUT"), ("bug", "UNEXPECTED_ERROR")],
)
async def test_at_most_once_needs_attention_and_is_not_run_again(how: str, code: str) -> None:
    world = World()
    action = Uncertain(how)
    world.registry.add(action)
    execution, first = world.start(
        workflow("{id: a, action: uncertain, timeout: 1s}", "{id: b, action: echo}")
    )
    await world.runner.run(first)
    assert world.status(execution) is X.NEEDS_ATTENTION
    assert world.steps(execution) == [("a", S.NEEDS_ATTENTION, 1), ("b", S.PENDING, 0)]
    step = world.db.steps[first]
    assert step.error is not None
    assert step.error["code"] == code
    assert [(a.attempt, a.outcome) for a in world.db.attempts] == [(1, AttemptOutcome.FAILED)]
    world.later(timedelta(hours=1))
    await world.runner.run(first)  # a late wake-up claims nothing
    await world.sweeper().sweep_once()
    assert action.calls == [1]
    attention = [
        entry
        for entry in world.db.audit
        if entry.action == A.WORKFLOW_EXECUTION_STEP_NEEDS_ATTENTION
    ]
    assert [entry.reason for entry in attention] == ["outcome_unknown"]


async def test_a_strategy_that_may_repeat_retries_an_unknown_outcome() -> None:
    world = World()
    action = UncertainKeyed("unknown")
    world.registry.add(action)
    execution, first = world.start(workflow("{id: a, action: uncertain_keyed, with: {value: 3}}"))
    await world.runner.run(first)
    assert world.steps(execution) == [("a", S.PENDING, 1)]
    world.later(timedelta(minutes=1))
    await world.runner.run(first)
    assert world.status(execution) is X.COMPLETED
    assert action.calls == [1, 2]
    assert [(a.attempt, a.outcome) for a in world.db.attempts] == [
        (1, AttemptOutcome.RETRY),
        (2, AttemptOutcome.COMPLETED),
    ]
