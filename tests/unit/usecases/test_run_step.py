"""``StepRunner`` over the in-memory ports: claims, finishes, retries, skips, cancels, late
results. The fakes keep the adapters' guards, so what passes here passes them."""

from __future__ import annotations

from datetime import timedelta

from govflow.core.audit_events import AuditEvent as A
from govflow.core.statuses import AttemptOutcome
from govflow.core.statuses import ExecutionStatus as X
from govflow.core.statuses import StepStatus as S
from govflow.usecases.audit import SYSTEM
from govflow.usecases.operate import cancel_execution

from .world import World, workflow

THREE = workflow(
    "{id: a, action: echo, with: {value: 1}}",
    '{id: b, action: echo, with: {value: "{{ steps.a.output.value + 1 }}"}}',
    '{id: c, action: echo, with: {value: "{{ steps.b.output.value + 1 }}"}}',
)


async def test_one_wake_up_runs_every_step_in_process() -> None:
    world = World()
    execution, first = world.start(THREE)
    await world.runner.run(first)
    assert world.status(execution) is X.COMPLETED
    assert world.steps(execution) == [
        ("a", S.COMPLETED, 1),
        ("b", S.COMPLETED, 1),
        ("c", S.COMPLETED, 1),
    ]
    assert [s.output for s in world.db.steps_of(execution)] == [
        {"value": 1},
        {"value": 2},
        {"value": 3},
    ]
    assert world.db.actions(execution) == [
        A.WORKFLOW_EXECUTION_PROCESS_STARTED,
        A.WORKFLOW_EXECUTION_STEP_STARTED,
        A.WORKFLOW_EXECUTION_STEP_COMPLETED,
        A.WORKFLOW_EXECUTION_STEP_STARTED,
        A.WORKFLOW_EXECUTION_STEP_COMPLETED,
        A.WORKFLOW_EXECUTION_STEP_STARTED,
        A.WORKFLOW_EXECUTION_STEP_COMPLETED,
        A.WORKFLOW_EXECUTION_PROCESS_COMPLETED,
    ]
    started = [e for e in world.db.audit if e.action == A.WORKFLOW_EXECUTION_STEP_STARTED]
    assert [(e.metadata["step"], e.metadata["attempt"]) for e in started] == [
        ("a", 1),
        ("b", 1),
        ("c", 1),
    ]
    assert world.queue.woken == []  # no queue round trip between the steps
    # The first claim is the only one the statement decided by the status it found.
    first_finish, *_ = world.store.finishes
    assert first_finish.execution_from is X.RUNNING


async def test_a_claim_takes_only_a_due_pending_step_once() -> None:
    world = World()
    execution, first = world.start(THREE)
    world.db.steps[first].next_attempt_at = world.db.now + timedelta(seconds=1)
    await world.runner.run(first)
    assert world.status(execution) is X.PENDING  # not due yet: nothing happened
    assert world.db.audit == []
    world.later(timedelta(seconds=1))
    await world.runner.run(first)
    await world.runner.run(first)  # a duplicate wake-up
    assert world.echo.calls == [1, 1, 1]
    assert world.steps(execution)[0] == ("a", S.COMPLETED, 1)


async def test_no_step_of_a_canceled_execution_is_claimed() -> None:
    world = World()
    execution, first = world.start(THREE)
    await cancel_execution(world.control, execution, actor=SYSTEM)
    world.db.steps[first].status = S.PENDING  # even a step left claimable by mistake
    await world.runner.run(first)
    assert world.echo.calls == []
    assert world.status(execution) is X.CANCELED


async def test_a_technical_failure_is_retried_after_its_backoff() -> None:
    world = World()
    execution, first = world.start(workflow("{id: a, action: flaky, with: {value: 5}}"))
    await world.runner.run(first)
    step = world.db.steps[first]
    assert (step.status, step.attempt) == (S.PENDING, 1)
    assert step.next_attempt_at == world.db.now + timedelta(minutes=1)
    assert world.status(execution) is X.RUNNING
    await world.runner.run(first)  # woken early: not claimable yet
    assert world.flaky.calls == [1]
    world.later(timedelta(minutes=1))
    await world.runner.run(first)
    assert world.flaky.calls == [1, 2]
    assert world.status(execution) is X.COMPLETED
    assert [(a.attempt, a.outcome) for a in world.db.attempts] == [
        (1, AttemptOutcome.RETRY),
        (2, AttemptOutcome.COMPLETED),
    ]
    assert A.WORKFLOW_EXECUTION_STEP_RETRY_SCHEDULED in world.db.actions(execution)


async def test_exhausted_attempts_fail_the_execution() -> None:
    world = World()
    world.flaky.failures = 10
    execution, first = world.start(
        workflow(
            "{id: a, action: flaky}",
            "{id: b, action: echo}",
            retry="{max_attempts: 2, initial_delay: 1m}",
        )
    )
    await world.runner.run(first)
    world.later(timedelta(minutes=5))
    await world.runner.run(first)
    assert world.status(execution) is X.FAILED
    assert world.steps(execution) == [("a", S.FAILED, 2), ("b", S.PENDING, 0)]
    assert world.db.executions[execution].error == {
        "code": "TECHNICAL_ERROR",
        "message": "the remote side timed out",
    }


async def test_a_business_error_fails_at_once() -> None:
    world = World()
    execution, first = world.start(workflow("{id: a, action: refuse}", "{id: b, action: echo}"))
    await world.runner.run(first)
    assert world.status(execution) is X.FAILED
    assert world.steps(execution) == [("a", S.FAILED, 1), ("b", S.PENDING, 0)]
    assert world.refuse.calls == [1]


async def test_a_false_condition_skips_the_step_and_goes_on() -> None:
    world = World()
    execution, first = world.start(
        workflow(
            "{id: a, action: echo, if: 'inputs.n > 1', with: {value: 1}}", "{id: b, action: echo}"
        ),
        {"n": 0},
    )
    await world.runner.run(first)
    assert world.steps(execution) == [("a", S.SKIPPED, 1), ("b", S.COMPLETED, 1)]
    assert world.echo.calls == [1]
    assert world.status(execution) is X.COMPLETED


async def test_a_suspended_step_opens_a_human_task() -> None:
    world = World()
    execution, first = world.start(workflow("{id: review, action: ask}", "{id: b, action: echo}"))
    await world.runner.run(first)
    assert world.status(execution) is X.WAITING
    assert world.steps(execution) == [("review", S.WAITING, 1), ("b", S.PENDING, 0)]
    assert world.db.human_tasks[first]["title"] == "Review"


async def test_a_late_result_after_a_cancel_changes_nothing() -> None:
    world = World()
    execution, first = world.start(
        workflow("{id: a, action: hook, with: {value: 1}}", "{id: b, action: echo}")
    )

    async def cancel() -> None:
        await cancel_execution(world.control, execution, actor=SYSTEM, reason="withdrawn")

    world.hook.during = cancel
    await world.runner.run(first)
    assert world.status(execution) is X.CANCELED
    assert world.steps(execution) == [("a", S.CANCELED, 1), ("b", S.CANCELED, 0)]
    assert world.db.steps[first].output is None
    late = world.db.audit[-1]
    assert (late.action, late.reason) == (A.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "late_result")
    assert world.echo.calls == []


async def test_a_stopping_worker_hands_the_next_step_on() -> None:
    world = World()
    execution, first = world.start(THREE)
    world.runner.stopping.set()
    await world.runner.run(first)
    second = world.db.steps_of(execution)[1]
    assert world.steps(execution)[:2] == [("a", S.COMPLETED, 1), ("b", S.PENDING, 0)]
    assert world.queue.woken == [second.id]
    assert second.next_attempt_at == world.db.now
    await world.worker("worker-2").run(second.id)
    assert world.status(execution) is X.COMPLETED
