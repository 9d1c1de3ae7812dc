"""Durable timers in the pure core: a ``wait`` step suspending on its timer, and its due time
as the event on the waiting step, decided at every status the step and execution may be in."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from govflow.core.audit_events import AuditEvent
from govflow.core.engine import (
    AttemptSucceeded,
    AttemptSuspended,
    AwaitSignal,
    CompleteExecution,
    ContinueWithNextStep,
    CreateHumanTask,
    RecordOutput,
    decide,
)
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.core.timers import TIMER_WAIT, timer_due_event

from .support import NOW, SECOND, audits, running

DUE = NOW + timedelta(days=14)
WAITING = running(execution_status=ExecutionStatus.WAITING, step_status=StepStatus.WAITING)
SUSPENDED = AttemptSuspended({"due_at": DUE.isoformat()}, TIMER_WAIT)


def test_a_timer_suspends_the_step_and_the_execution_waits() -> None:
    decision = decide(running(), SUSPENDED, NOW)
    assert decision.step_status is StepStatus.WAITING
    assert decision.execution_status is ExecutionStatus.WAITING
    assert AwaitSignal(TIMER_WAIT, {"due_at": DUE.isoformat()}) in decision.commands
    assert not [c for c in decision.commands if isinstance(c, CreateHumanTask)]
    assert audits(decision) == [
        (AuditEvent.WORKFLOW_EXECUTION_STEP_WAITING, TIMER_WAIT),
        (AuditEvent.WORKFLOW_EXECUTION_PROCESS_WAITING, None),
    ]


def test_a_failure_handler_cannot_wait_on_a_timer() -> None:
    decision = decide(running(handler=True, handlers_from=1), SUSPENDED, NOW)
    assert decision.step_status is StepStatus.FAILED


@pytest.mark.parametrize("late", [timedelta(0), SECOND, timedelta(days=30)])
def test_the_event_carries_the_due_time_once_it_has_come(late: timedelta) -> None:
    assert timer_due_event(DUE, DUE + late) == AttemptSucceeded(
        {"due_at": DUE.isoformat(), "waited": True}
    )


@pytest.mark.parametrize("early", [timedelta(microseconds=1), SECOND, timedelta(days=14)])
def test_a_timer_not_yet_due_gives_no_event(early: timedelta) -> None:
    with pytest.raises(ValueError, match="not yet"):
        timer_due_event(DUE, DUE - early)


@pytest.mark.parametrize("last", [False, True])
def test_the_due_time_resumes_the_waiting_step(last: bool) -> None:
    decision = decide(replace(WAITING, is_last_step=last), timer_due_event(DUE, DUE), DUE)
    assert decision.step_status is StepStatus.COMPLETED
    assert RecordOutput({"due_at": DUE.isoformat(), "waited": True}) in decision.commands
    if last:
        assert decision.execution_status is ExecutionStatus.COMPLETED
        assert CompleteExecution() in decision.commands
    else:
        assert decision.execution_status is ExecutionStatus.RUNNING
        assert ContinueWithNextStep() in decision.commands
    assert (AuditEvent.WORKFLOW_EXECUTION_PROCESS_RESUMED, None) in audits(decision)


# A timer firing for a step that no longer waits (canceled, or resumed by another sweeper)
# changes nothing.
@pytest.mark.parametrize(
    "step_status", [s for s in StepStatus if s not in {StepStatus.WAITING, StepStatus.RUNNING}]
)
def test_a_step_that_no_longer_waits_is_left_alone(step_status: StepStatus) -> None:
    state = replace(WAITING, step_status=step_status, execution_status=ExecutionStatus.RUNNING)
    decision = decide(state, timer_due_event(DUE, DUE), DUE)
    assert decision.step_status is step_status
    assert decision.execution_status is None
    assert [name for name, _ in audits(decision)] == [AuditEvent.WORKFLOW_EXECUTION_PROCESS_SKIPPED]


@pytest.mark.parametrize("execution", sorted(ExecutionStatus.TERMINAL))
def test_a_timer_of_an_ended_execution_is_left_alone(execution: ExecutionStatus) -> None:
    state = replace(WAITING, execution_status=execution)
    decision = decide(state, timer_due_event(DUE, DUE), DUE)
    assert decision.step_status is StepStatus.WAITING
    assert decision.execution_status is None
    assert audits(decision) == [
        (AuditEvent.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "execution_terminal")
    ]
