"""Sub-workflows in the pure core: the child's end as the event on its parent's waiting step,
decided at every status the parent step and execution may be in; who may start whom."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

import pytest

from govflow.core.audit_events import AuditEvent
from govflow.core.engine import (
    AttemptFailedBusiness,
    AttemptSucceeded,
    CompleteExecution,
    ContinueWithNextStep,
    FailExecution,
    RecordOutput,
    RecordStepError,
    decide,
)
from govflow.core.error_codes import StepErrorCode
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.core.subworkflows import (
    child_end_event,
    start_refusal,
)

from .support import NOW, audits, running

CHILD = UUID("00000000-0000-0000-0000-0000000000c1")
DEPT = UUID("00000000-0000-0000-0000-0000000000d1")
OTHER = UUID("00000000-0000-0000-0000-0000000000d2")
WAITING = running(execution_status=ExecutionStatus.WAITING, step_status=StepStatus.WAITING)


def test_a_completed_child_gives_its_outputs() -> None:
    event = child_end_event(CHILD, ExecutionStatus.COMPLETED, {"permit": "P-1"}, None)
    assert event == AttemptSucceeded({"permit": "P-1"})
    assert child_end_event(CHILD, ExecutionStatus.COMPLETED, None, None) == AttemptSucceeded({})


def test_a_failed_child_names_itself_and_its_error() -> None:
    error = {"code": "BUSINESS_ERROR", "message": "refused"}
    event = child_end_event(CHILD, ExecutionStatus.FAILED, None, error)
    assert isinstance(event, AttemptFailedBusiness)
    assert event.error.code == StepErrorCode.SUB_WORKFLOW_FAILED
    assert event.error.message == f"child execution {CHILD} failed (BUSINESS_ERROR: refused)"
    assert event.error.details == {"child_execution_id": str(CHILD), "child_error": error}


def test_a_failed_child_without_an_error_still_names_itself() -> None:
    event = child_end_event(CHILD, ExecutionStatus.FAILED, None, None)
    assert isinstance(event, AttemptFailedBusiness)
    assert event.error.message == f"child execution {CHILD} failed (no error recorded)"


def test_a_canceled_child_fails_the_step() -> None:
    event = child_end_event(CHILD, ExecutionStatus.CANCELED, None, None)
    assert isinstance(event, AttemptFailedBusiness)
    assert event.error.code == StepErrorCode.SUB_WORKFLOW_CANCELED
    assert event.error.message == f"child execution {CHILD} was canceled"


@pytest.mark.parametrize(
    "status", sorted(ExecutionStatus.ACTIVE | {ExecutionStatus.NEEDS_ATTENTION})
)
def test_a_child_that_has_not_ended_gives_no_event(status: ExecutionStatus) -> None:
    with pytest.raises(ValueError, match="has not ended"):
        child_end_event(CHILD, status, None, None)


@pytest.mark.parametrize("last", [False, True])
def test_completion_resumes_the_waiting_parent(last: bool) -> None:
    event = child_end_event(CHILD, ExecutionStatus.COMPLETED, {"a": 1}, None)
    decision = decide(replace(WAITING, is_last_step=last), event, NOW)
    assert decision.step_status is StepStatus.COMPLETED
    assert RecordOutput({"a": 1}) in decision.commands
    if last:
        assert decision.execution_status is ExecutionStatus.COMPLETED
        assert CompleteExecution() in decision.commands
    else:
        assert decision.execution_status is ExecutionStatus.RUNNING
        assert ContinueWithNextStep() in decision.commands
    assert (AuditEvent.WORKFLOW_EXECUTION_PROCESS_RESUMED, None) in audits(decision)


@pytest.mark.parametrize("status", [ExecutionStatus.FAILED, ExecutionStatus.CANCELED])
def test_a_child_that_did_not_complete_fails_the_parent(status: ExecutionStatus) -> None:
    decision = decide(WAITING, child_end_event(CHILD, status, None, None), NOW)
    assert decision.step_status is StepStatus.FAILED
    assert decision.execution_status is ExecutionStatus.FAILED
    failed = [c for c in decision.commands if isinstance(c, FailExecution)]
    assert failed
    assert str(CHILD) in failed[0].error.message


def test_continue_on_error_lets_the_parent_go_on_after_a_failed_child() -> None:
    state = replace(WAITING, continue_on_error=True)
    decision = decide(state, child_end_event(CHILD, ExecutionStatus.FAILED, None, None), NOW)
    assert decision.step_status is StepStatus.FAILED
    assert decision.execution_status is ExecutionStatus.RUNNING
    assert any(isinstance(c, RecordStepError) for c in decision.commands)


# A RUNNING step is decided by its own attempt (its worker's finish), never by a child's end.
@pytest.mark.parametrize(
    "step_status", [s for s in StepStatus if s not in {StepStatus.WAITING, StepStatus.RUNNING}]
)
@pytest.mark.parametrize("child", [ExecutionStatus.COMPLETED, ExecutionStatus.FAILED])
def test_a_parent_step_that_no_longer_waits_is_left_alone(
    step_status: StepStatus, child: ExecutionStatus
) -> None:
    state = replace(WAITING, step_status=step_status, execution_status=ExecutionStatus.RUNNING)
    event = child_end_event(CHILD, child, None, None)
    decision = decide(state, event, NOW)
    assert decision.step_status is step_status
    assert decision.execution_status is None
    assert [name for name, _ in audits(decision)] == [AuditEvent.WORKFLOW_EXECUTION_PROCESS_SKIPPED]


@pytest.mark.parametrize("execution", sorted(ExecutionStatus.TERMINAL))
def test_an_ended_parent_is_left_alone(execution: ExecutionStatus) -> None:
    state = replace(WAITING, execution_status=execution)
    decision = decide(state, child_end_event(CHILD, ExecutionStatus.COMPLETED, {}, None), NOW)
    assert decision.step_status is StepStatus.WAITING
    assert decision.execution_status is None
    assert audits(decision) == [
        (AuditEvent.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "execution_terminal")
    ]


@pytest.mark.parametrize(
    ("parent", "child", "depth", "limit", "refused"),
    [
        (DEPT, DEPT, 0, 5, None),
        (DEPT, None, 0, 5, None),  # a shared workflow
        (None, None, 0, 5, None),
        (DEPT, OTHER, 0, 5, StepErrorCode.SUB_WORKFLOW_REFUSED),
        (None, DEPT, 0, 5, StepErrorCode.SUB_WORKFLOW_REFUSED),
        (DEPT, DEPT, 4, 5, None),  # the child at depth 5: the limit
        (DEPT, DEPT, 5, 5, StepErrorCode.SUB_WORKFLOW_TOO_DEEP),
        (DEPT, DEPT, 0, 1, None),
        (DEPT, DEPT, 1, 1, StepErrorCode.SUB_WORKFLOW_TOO_DEEP),
    ],
)
def test_who_may_start_whom(
    parent: UUID | None, child: UUID | None, depth: int, limit: int, refused: str | None
) -> None:
    found = start_refusal(parent, child, depth, limit)
    assert (found[0] if found else None) == refused
