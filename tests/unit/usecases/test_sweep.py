"""``Sweeper`` over the in-memory ports: recovery of expired leases by strategy, lost wake-ups
re-sent, one department at a time, and a stale worker refused after its step was recovered."""

from __future__ import annotations

import uuid
from datetime import timedelta
from uuid import UUID

from govflow.core.audit_events import AuditEvent as A
from govflow.core.idempotency import Idempotency as I
from govflow.core.statuses import ExecutionStatus as X
from govflow.core.statuses import StepStatus as S
from govflow.usecases.ports import ClaimedStep
from govflow.usecases.sweep import SweepReport

from .world import LEASE, World, workflow


async def crashed(world: World, text: str, *, started: I | None = None) -> tuple[UUID, ClaimedStep]:
    """An execution whose worker claimed its first step (and, with ``started``, recorded the
    attempt start with that strategy), then died: its lease has expired."""
    execution, first = world.start(text)
    claimed = await world.store.claim(first, "dead-worker", LEASE, world.runner.claims)
    assert claimed is not None
    claim, _ = claimed
    if started is not None:
        assert await world.store.mark_attempt_started(claim, started, {"value": 1})
    world.later(LEASE + timedelta(seconds=1))
    return execution, claim


async def test_a_step_cut_off_before_its_effect_runs_again_after_backoff() -> None:
    world = World()
    execution, claim = await crashed(world, workflow("{id: a, action: echo}"))
    report = await world.sweeper().sweep_once()
    assert report == SweepReport(recovered=1)
    step = world.db.steps[claim.step_id]
    assert (step.status, step.attempt) == (S.PENDING, 1)
    assert step.next_attempt_at == world.db.now + timedelta(minutes=1)
    recovered = [e for e in world.db.audit if e.action == A.WORKFLOW_EXECUTION_STEP_RECOVERED]
    assert [e.reason for e in recovered] == ["attempt_not_started"]
    world.later(timedelta(minutes=1))
    assert await world.sweeper().sweep_once() == SweepReport(resent=1)  # the wake-up was lost
    assert world.queue.woken == [claim.step_id]
    await world.runner.run(claim.step_id)
    assert world.status(execution) is X.COMPLETED


async def test_an_interrupted_at_most_once_step_waits_for_an_operator() -> None:
    world = World()
    execution, _ = await crashed(world, workflow("{id: a, action: mail}"), started=I.AT_MOST_ONCE)
    assert await world.sweeper().sweep_once() == SweepReport(needs_attention=1)
    assert world.status(execution) is X.NEEDS_ATTENTION
    assert world.steps(execution) == [("a", S.NEEDS_ATTENTION, 1)]


async def test_a_remote_effect_found_by_lookup_completes_the_step_and_releases_the_next() -> None:
    world = World()
    world.remote.found = {"comment": "c-1"}
    text = workflow("{id: a, action: remote}", "{id: b, action: echo}")
    execution, claim = await crashed(world, text, started=I.REMOTE_LOOKUP)
    assert await world.sweeper().sweep_once() == SweepReport(completed_by_lookup=1)
    second = world.db.steps_of(execution)[1]
    assert world.steps(execution) == [("a", S.COMPLETED, 1), ("b", S.PENDING, 0)]
    assert world.db.steps[claim.step_id].output == {"comment": "c-1"}
    assert world.queue.woken == [second.id]
    actions = world.db.actions(execution)
    assert actions[-3:] == [
        A.WORKFLOW_EXECUTION_STEP_LOOKUP_REQUESTED,
        A.WORKFLOW_EXECUTION_STEP_SKIPPED,
        A.WORKFLOW_EXECUTION_STEP_COMPLETED,
    ]
    await world.runner.run(second.id)
    assert world.status(execution) is X.COMPLETED
    assert world.remote.calls == []  # the effect was never repeated


async def test_no_remote_effect_found_runs_the_step_again() -> None:
    world = World()
    execution, _ = await crashed(
        world, workflow("{id: a, action: remote}"), started=I.REMOTE_LOOKUP
    )
    assert await world.sweeper().sweep_once() == SweepReport(recovered=1)
    assert world.steps(execution) == [("a", S.PENDING, 1)]


async def test_a_lookup_that_fails_leaves_the_step_to_the_next_sweep() -> None:
    world = World()
    world.remote.found = ConnectionError("the remote system is down")
    execution, claim = await crashed(
        world, workflow("{id: a, action: remote}"), started=I.REMOTE_LOOKUP
    )
    assert await world.sweeper().sweep_once() == SweepReport()
    assert world.steps(execution) == [("a", S.RUNNING, 1)]
    assert world.db.steps[claim.step_id].lease_owner == "sweeper"
    world.remote.found = None
    world.later(LEASE + timedelta(seconds=1))
    assert await world.sweeper().sweep_once() == SweepReport(recovered=1)


async def test_a_step_that_kills_its_worker_fails_when_its_attempts_are_spent() -> None:
    world = World()
    text = workflow("{id: a, action: echo}", retry="{max_attempts: 1}")
    execution, _ = await crashed(world, text)
    assert await world.sweeper().sweep_once() == SweepReport(failed=1)
    assert world.status(execution) is X.FAILED
    assert A.WORKFLOW_EXECUTION_RECOVERY_FAILED in world.db.actions(execution)


async def test_a_step_left_running_in_an_ended_execution_is_closed() -> None:
    world = World()
    execution, _ = await crashed(world, workflow("{id: a, action: echo}"))
    world.db.executions[execution].status = X.COMPLETED
    assert await world.sweeper().sweep_once() == SweepReport(recovered=1)
    assert world.steps(execution) == [("a", S.CANCELED, 1)]
    assert world.status(execution) is X.COMPLETED
    assert await world.sweeper().sweep_once() == SweepReport()  # and stays closed


async def test_the_worker_that_lost_its_step_to_a_recovery_is_refused() -> None:
    world = World()
    execution, first = world.start(workflow("{id: a, action: hook, with: {value: 1}}"))

    async def stall_past_the_lease() -> None:
        world.later(LEASE + timedelta(seconds=1))
        assert await world.sweeper().sweep_once() == SweepReport(recovered=1)

    world.hook.during = stall_past_the_lease
    await world.runner.run(first)  # its result comes back after the recovery
    assert world.steps(execution) == [("a", S.PENDING, 1)]
    assert world.db.steps[first].output is None
    late = world.db.audit[-1]
    assert (late.action, late.reason) == (A.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "late_result")
    world.hook.during = None
    world.later(timedelta(minutes=1))
    await world.runner.run(first)
    assert world.steps(execution) == [("a", S.COMPLETED, 2)]
    assert world.status(execution) is X.COMPLETED


async def test_a_departments_sweep_touches_that_department_only() -> None:
    world = World()
    mine, other = uuid.uuid4(), uuid.uuid4()
    text = workflow("{id: a, action: echo}")
    first_mine = world.start(text, department=mine)
    first_other = world.start(text, department=other)
    for _, step_id in (first_mine, first_other):
        assert await world.store.claim(step_id, "dead-worker", LEASE, world.runner.claims)
    world.later(LEASE + timedelta(seconds=1))
    assert await world.sweeper().sweep_once(mine) == SweepReport(recovered=1)
    assert world.steps(first_mine[0]) == [("a", S.PENDING, 1)]
    assert world.steps(first_other[0]) == [("a", S.RUNNING, 1)]
    world.later(timedelta(minutes=1))
    assert await world.sweeper().sweep_once(other) == SweepReport(recovered=1)
    assert world.queue.woken == []
    assert await world.sweeper().sweep_once(mine) == SweepReport(resent=1)
    assert world.queue.woken == [first_mine[1]]
