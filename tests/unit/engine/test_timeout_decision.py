"""``decide_timeout`` at every execution status, over steps in every status."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from govflow.core.audit_events import AuditEvent
from govflow.core.engine import (
    TIMED_OUT_REASON,
    Audit,
    CancelHumanTask,
    FailExecution,
    StepError,
    decide_timeout,
)
from govflow.core.error_codes import StepErrorCode
from govflow.core.machines import IllegalTransition
from govflow.core.statuses import ExecutionStatus, StepStatus

from .support import NOW

ACTIVE = [
    ExecutionStatus.PENDING,
    ExecutionStatus.RUNNING,
    ExecutionStatus.WAITING,
    ExecutionStatus.NEEDS_ATTENTION,
]
ALL_STEPS = list(StepStatus)


@pytest.mark.parametrize("status", ACTIVE)
def test_an_active_execution_fails_and_its_open_steps_are_canceled(
    status: ExecutionStatus,
) -> None:
    decision = decide_timeout(status, ALL_STEPS, timedelta(hours=1, minutes=30), NOW)
    assert decision.execution_status is ExecutionStatus.FAILED
    error = StepError(
        StepErrorCode.EXECUTION_TIMED_OUT, "the execution ran longer than its timeout (1h30m)"
    )
    assert decision.commands == (
        FailExecution(error),
        Audit(
            AuditEvent.WORKFLOW_EXECUTION_PROCESS_FAILED,
            TIMED_OUT_REASON,
            {"code": StepErrorCode.EXECUTION_TIMED_OUT, "error": error.message},
        ),
    )
    open_ = {
        StepStatus.PENDING,
        StepStatus.RUNNING,
        StepStatus.WAITING,
        StepStatus.NEEDS_ATTENTION,
    }
    assert {ALL_STEPS[p] for p in decision.steps} == open_
    for position, step in decision.steps.items():
        assert step.step_status is StepStatus.CANCELED
        assert step.execution_status is None
        cancel_task = (CancelHumanTask(),) if ALL_STEPS[position] is StepStatus.WAITING else ()
        assert step.commands == (
            *cancel_task,
            Audit(AuditEvent.WORKFLOW_EXECUTION_STEP_CANCELED, TIMED_OUT_REASON),
        )


@pytest.mark.parametrize(
    "status", [ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELED]
)
def test_an_ended_execution_cannot_time_out(status: ExecutionStatus) -> None:
    with pytest.raises(IllegalTransition):
        decide_timeout(status, [StepStatus.COMPLETED], timedelta(minutes=5), NOW)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide_timeout(ExecutionStatus.RUNNING, [], timedelta(minutes=5), datetime(2030, 1, 1))
