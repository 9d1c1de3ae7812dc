"""A rejected human task (or a failing signal) on a ``continue_on_error`` step: the change
fails the step alone, keeps its error off the execution, and makes the next step runnable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from govflow.core.engine import AttemptFailedBusiness, StepError
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.usecases.audit import SYSTEM
from govflow.usecases.operate import ExecutionSnapshot, StepSnapshot, waiting_step_change

NOW = datetime(2030, 1, 2, tzinfo=UTC)
REJECTED = StepError("task_rejected", "the task was rejected: incomplete")


def snapshot(tolerant: bool) -> ExecutionSnapshot:
    return ExecutionSnapshot(
        execution_id=uuid.uuid4(),
        status=ExecutionStatus.WAITING,
        department_id=None,
        steps=[
            StepSnapshot(
                step_id=uuid.uuid4(),
                position=0,
                step_key="review",
                status=StepStatus.WAITING,
                attempt=1,
                attempt_started=True,
                idempotency=None,
                continue_on_error=tolerant,
            ),
            StepSnapshot(
                step_id=uuid.uuid4(),
                position=1,
                step_key="notify",
                status=StepStatus.PENDING,
                attempt=0,
                attempt_started=False,
                idempotency=None,
            ),
        ],
    )


def change_for(tolerant: bool):  # type: ignore[no-untyped-def]
    seen = snapshot(tolerant)
    return seen, waiting_step_change(
        seen, seen.steps[0], AttemptFailedBusiness(REJECTED), SYSTEM, "rejected", NOW
    )


def test_a_tolerated_rejection_goes_on_with_the_next_step() -> None:
    seen, change = change_for(True)
    assert change.execution_status is ExecutionStatus.RUNNING
    assert change.error is None
    failed, following = change.steps
    assert (failed.status, failed.error) == (
        StepStatus.FAILED,
        {"code": "task_rejected", "message": "the task was rejected: incomplete"},
    )
    assert (following.step_id, following.runnable_now) == (seen.steps[1].step_id, True)
    assert [entry.action for entry in change.audit][-3:] == [
        "WORKFLOW_EXECUTION_STEP_FAILED",
        "WORKFLOW_EXECUTION_STEP_FAILURE_CONTINUED",
        "WORKFLOW_EXECUTION_PROCESS_RESUMED",
    ]


def test_without_it_the_rejection_fails_the_execution() -> None:
    _, change = change_for(False)
    assert change.execution_status is ExecutionStatus.FAILED
    assert change.error == {"code": "task_rejected", "message": "the task was rejected: incomplete"}
    assert len(change.steps) == 1
