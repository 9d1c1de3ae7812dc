"""Operator actions over the in-memory ports: cancel, retry, resolve, each decided by the engine
and carried out whole or not at all."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from govflow.core.audit_events import AuditEvent as A
from govflow.core.idempotency import Idempotency as I
from govflow.core.statuses import ExecutionStatus as X
from govflow.core.statuses import HumanTaskStatus
from govflow.core.statuses import StepStatus as S
from govflow.usecases.audit import Actor
from govflow.usecases.errors import ConflictError, NotFoundError
from govflow.usecases.operate import (
    ExecutionChange,
    Resolution,
    StepChange,
    cancel_execution,
    resolve_step,
    retry_execution,
)

from .world import LEASE, World, workflow

OPERATOR = Actor(email="ops@example.org", name="ops")


async def test_cancel_ends_the_waiting_step_its_human_task_and_the_steps_to_come() -> None:
    world = World()
    execution, first = world.start(
        workflow("{id: a, action: echo}", "{id: review, action: ask}", "{id: c, action: echo}")
    )
    await world.runner.run(first)
    review = world.db.steps_of(execution)[1]
    assert world.db.human_tasks[review.id]["status"] is HumanTaskStatus.OPEN
    result = await cancel_execution(world.control, execution, actor=OPERATOR, reason="withdrawn")
    assert result.execution_status == "CANCELED"
    assert world.status(execution) is X.CANCELED
    assert world.steps(execution) == [
        ("a", S.COMPLETED, 1),
        ("review", S.CANCELED, 1),
        ("c", S.CANCELED, 0),
    ]
    assert world.db.human_tasks[review.id]["status"] is HumanTaskStatus.CANCELED
    canceled = [e for e in world.db.audit if e.actor == OPERATOR]
    assert [(e.action, e.entity_id, e.reason) for e in canceled] == [
        (A.WORKFLOW_EXECUTION_STEP_CANCELED, str(review.id), "withdrawn"),
        (A.WORKFLOW_EXECUTION_STEP_CANCELED, str(world.db.steps_of(execution)[2].id), "withdrawn"),
        (A.WORKFLOW_EXECUTION_CANCELED, str(execution), "withdrawn"),
    ]


async def test_cancel_of_an_ended_execution_is_a_conflict() -> None:
    world = World()
    execution, first = world.start(workflow("{id: a, action: echo}"))
    await world.runner.run(first)
    with pytest.raises(ConflictError):
        await cancel_execution(world.control, execution, actor=OPERATOR)
    assert world.status(execution) is X.COMPLETED


async def test_retry_runs_a_failed_execution_again_from_its_failed_step() -> None:
    world = World()
    world.flaky.failures = 1
    execution, first = world.start(
        workflow("{id: a, action: flaky}", "{id: b, action: echo}", retry="{max_attempts: 1}")
    )
    await world.runner.run(first)
    assert world.status(execution) is X.FAILED
    result = await retry_execution(world.control, world.queue, execution, actor=OPERATOR)
    assert (result.execution_status, result.woken) == ("RUNNING", [first])
    assert world.steps(execution) == [("a", S.PENDING, 0), ("b", S.PENDING, 0)]
    await world.runner.run(first)
    assert world.status(execution) is X.COMPLETED
    assert world.steps(execution) == [("a", S.COMPLETED, 1), ("b", S.COMPLETED, 1)]
    assert [(a.step_id, a.attempt) for a in world.db.attempts][:2] == [(first, 1), (first, 1)]


async def test_retry_of_an_execution_that_did_not_fail_is_a_conflict() -> None:
    world = World()
    execution, _ = world.start(workflow("{id: a, action: echo}"))
    with pytest.raises(ConflictError):
        await retry_execution(world.control, world.queue, execution, actor=OPERATOR)


async def needing_attention(world: World) -> tuple[uuid.UUID, uuid.UUID]:
    execution, first = world.start(workflow("{id: a, action: mail}", "{id: b, action: echo}"))
    claimed = await world.store.claim(first, "dead-worker", LEASE, world.runner.claims)
    assert claimed is not None
    assert await world.store.mark_attempt_started(claimed[0], I.AT_MOST_ONCE, {})
    world.later(LEASE + timedelta(seconds=1))
    await world.sweeper().sweep_once()
    assert world.status(execution) is X.NEEDS_ATTENTION
    return execution, first


@pytest.mark.parametrize(
    ("resolution", "a_status", "output"),
    [(Resolution.SKIP, S.SKIPPED, None), (Resolution.MARK_DONE, S.COMPLETED, {"sent": True})],
)
async def test_skip_or_mark_done_goes_on_with_the_next_step(
    resolution: Resolution, a_status: S, output: dict[str, bool] | None
) -> None:
    world = World()
    execution, first = await needing_attention(world)
    result = await resolve_step(
        world.control,
        world.queue,
        execution,
        "a",
        resolution,
        actor=OPERATOR,
        reason="checked the outbox",
        output=output,
    )
    second = world.db.steps_of(execution)[1]
    assert (result.execution_status, result.woken) == ("RUNNING", [second.id])
    assert world.steps(execution) == [("a", a_status, 1), ("b", S.PENDING, 0)]
    assert world.db.steps[first].output == output
    await world.runner.run(second.id)
    assert world.status(execution) is X.COMPLETED
    assert world.mail.calls == []  # the at-most-once effect was never repeated


async def test_resolving_by_retry_runs_the_step_again() -> None:
    world = World()
    execution, first = await needing_attention(world)
    result = await resolve_step(
        world.control, world.queue, execution, "a", Resolution.RETRY, actor=OPERATOR, reason="ok"
    )
    assert result.woken == [first]
    await world.runner.run(first)
    assert world.mail.calls == [1]
    assert world.status(execution) is X.COMPLETED


async def test_a_step_that_does_not_need_attention_cannot_be_resolved() -> None:
    world = World()
    execution, _ = world.start(workflow("{id: a, action: echo}"))
    with pytest.raises(ConflictError):
        await resolve_step(
            world.control, world.queue, execution, "a", Resolution.SKIP, actor=OPERATOR, reason="x"
        )
    with pytest.raises(NotFoundError):
        await resolve_step(
            world.control, world.queue, execution, "zz", Resolution.SKIP, actor=OPERATOR, reason="x"
        )


async def test_another_departments_execution_is_not_found() -> None:
    world = World()
    execution, _ = world.start(workflow("{id: a, action: echo}"), department=uuid.uuid4())
    with pytest.raises(NotFoundError):
        await cancel_execution(
            world.control, execution, actor=OPERATOR, department_scope=uuid.uuid4()
        )
    assert world.status(execution) is X.PENDING


async def test_a_change_whose_step_moved_on_is_refused_whole() -> None:
    world = World()
    execution, first = world.start(workflow("{id: a, action: echo}", "{id: b, action: echo}"))
    second = world.db.steps_of(execution)[1].id
    async with world.control.locked(execution, None) as locked:
        assert locked is not None
        await world.runner.run(first)  # the execution moved on after the snapshot
        change = ExecutionChange(
            execution_from=X.PENDING,
            execution_status=X.CANCELED,
            steps=(
                StepChange(step_id=second, from_status=S.COMPLETED, status=S.CANCELED),
                StepChange(step_id=first, from_status=S.PENDING, status=S.CANCELED),
            ),
            audit=(),
        )
        with pytest.raises(ConflictError):
            await locked.apply(change)
    assert world.status(execution) is X.COMPLETED
    assert world.steps(execution) == [("a", S.COMPLETED, 1), ("b", S.COMPLETED, 1)]
