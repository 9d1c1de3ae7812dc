"""Guarded terminal statuses, cancellation and operator actions."""

from __future__ import annotations

import pytest

from govflow.core.audit_events import AuditEvent as A
from govflow.core.engine import (
    AttemptFailedBusiness,
    AttemptFailedTechnical,
    AttemptSucceeded,
    AttemptSuspended,
    Audit,
    CancelHumanTask,
    CancelRequested,
    ConditionFalse,
    Event,
    LeaseExpired,
    LookupResult,
    OperatorMarkDone,
    OperatorRetry,
    OperatorSkip,
    RecordOutput,
    ResetAttempts,
    ScheduleRetry,
    StepClaimed,
    decide,
)
from govflow.core.idempotency import Idempotency as I
from govflow.core.machines import IllegalTransition
from govflow.core.statuses import ExecutionStatus as X
from govflow.core.statuses import StepStatus as S

from .support import BOOM, NOW, audits, kinds, of_type, running

WORKER_EVENTS: list[Event] = [
    StepClaimed(),
    ConditionFalse(),
    AttemptSucceeded({"x": 1}),
    AttemptFailedBusiness(BOOM),
    AttemptFailedTechnical(BOOM, 0.5),
    AttemptSuspended({}),
    LeaseExpired(0.5),
    LookupResult({}, 0.5),
]


@pytest.mark.parametrize(
    ("execution", "step", "event"),
    [
        pytest.param(x, s, e, id=f"{x}-{s}-{type(e).__name__}")
        for x in sorted(X.TERMINAL)
        for s in S
        for e in WORKER_EVENTS
        # the one exception, tested on its own: a lease expiring on a step still RUNNING in an
        # ended execution closes the step (test_engine_whole_executions.py)
        if not (isinstance(e, LeaseExpired) and s is S.RUNNING)
    ],
)
def test_worker_events_for_a_terminal_execution_are_reported_not_applied(
    execution: X, step: S, event: Event
) -> None:
    state = running(execution_status=execution, step_status=step, idempotency=I.REMOTE_LOOKUP)
    decision = decide(state, event, NOW)
    assert (decision.step_status, decision.execution_status) == (step, None)
    assert audits(decision) == [(A.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "execution_terminal")]
    assert kinds(decision) == []


@pytest.mark.parametrize(
    ("step", "event"),
    [
        (S.RUNNING, StepClaimed()),
        (S.COMPLETED, AttemptSucceeded({})),
        (S.PENDING, AttemptFailedBusiness(BOOM)),
        (S.WAITING, AttemptFailedTechnical(BOOM, 0.0)),
        (S.NEEDS_ATTENTION, AttemptSuspended({})),
        (S.PENDING, LeaseExpired(0.0)),
        (S.SKIPPED, ConditionFalse()),
    ],
    ids=lambda v: str(v) if isinstance(v, S) else type(v).__name__,
)
def test_worker_events_for_a_step_that_moved_on_are_reported(step: S, event: Event) -> None:
    decision = decide(running(step_status=step), event, NOW)
    assert (decision.step_status, decision.execution_status) == (step, None)
    assert audits(decision) == [(A.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "stale_event")]


@pytest.mark.parametrize("step", [S.PENDING, S.RUNNING])
def test_cancel_cancels_the_execution_and_its_active_step(step: S) -> None:
    decision = decide(running(step_status=step), CancelRequested("duplicate request"), NOW)
    assert (decision.step_status, decision.execution_status) == (S.CANCELED, X.CANCELED)
    assert kinds(decision) == []
    assert audits(decision) == [
        (A.WORKFLOW_EXECUTION_STEP_CANCELED, "duplicate request"),
        (A.WORKFLOW_EXECUTION_CANCELED, "duplicate request"),
    ]


def test_cancel_while_running_then_the_late_result_is_dropped() -> None:
    canceled = decide(running(), CancelRequested(), NOW)
    assert canceled.execution_status is X.CANCELED
    state = running(execution_status=X.CANCELED, step_status=canceled.step_status)
    late = decide(state, AttemptSucceeded({"sent": True}), NOW)
    assert (late.step_status, late.execution_status) == (S.CANCELED, None)
    assert of_type(late, RecordOutput) == []
    assert audits(late) == [(A.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "execution_terminal")]


def test_cancel_while_waiting_cancels_the_human_task() -> None:
    state = running(execution_status=X.WAITING, step_status=S.WAITING)
    decision = decide(state, CancelRequested(), NOW)
    assert (decision.step_status, decision.execution_status) == (S.CANCELED, X.CANCELED)
    assert kinds(decision) == ["CancelHumanTask"]
    assert of_type(decision, CancelHumanTask) == [CancelHumanTask()]


def test_cancel_while_needing_attention() -> None:
    state = running(execution_status=X.NEEDS_ATTENTION, step_status=S.NEEDS_ATTENTION)
    decision = decide(state, CancelRequested(), NOW)
    assert (decision.step_status, decision.execution_status) == (S.CANCELED, X.CANCELED)


def test_cancel_leaves_a_finished_step_as_it_is() -> None:
    decision = decide(running(step_status=S.COMPLETED), CancelRequested(), NOW)
    assert (decision.step_status, decision.execution_status) == (S.COMPLETED, X.CANCELED)
    assert audits(decision) == [(A.WORKFLOW_EXECUTION_CANCELED, None)]


@pytest.mark.parametrize("execution", sorted(X.TERMINAL))
def test_cancel_of_a_terminal_execution_is_refused(execution: X) -> None:
    with pytest.raises(IllegalTransition):
        decide(running(execution_status=execution, step_status=S.COMPLETED), CancelRequested(), NOW)


@pytest.mark.parametrize(
    ("execution", "step"), [(X.FAILED, S.FAILED), (X.NEEDS_ATTENTION, S.NEEDS_ATTENTION)]
)
def test_operator_retry_starts_a_fresh_budget_now(execution: X, step: S) -> None:
    state = running(execution_status=execution, step_status=step, attempt=3)
    decision = decide(state, OperatorRetry("remote fixed"), NOW)
    assert (decision.step_status, decision.execution_status) == (S.PENDING, X.RUNNING)
    assert kinds(decision) == ["ResetAttempts", "ScheduleRetry"]
    assert of_type(decision, ResetAttempts) == [ResetAttempts()]
    assert of_type(decision, ScheduleRetry) == [ScheduleRetry(NOW)]
    assert audits(decision) == [(A.WORKFLOW_EXECUTION_OPERATOR_RETRY, "remote fixed")]


@pytest.mark.parametrize(("last", "execution"), [(False, X.RUNNING), (True, X.COMPLETED)])
def test_operator_skip_resolves_and_goes_on(last: bool, execution: X) -> None:
    state = running(
        execution_status=X.NEEDS_ATTENTION, step_status=S.NEEDS_ATTENTION, is_last_step=last
    )
    decision = decide(state, OperatorSkip("sent by hand"), NOW)
    assert (decision.step_status, decision.execution_status) == (S.SKIPPED, execution)
    assert audits(decision)[0] == (A.WORKFLOW_EXECUTION_STEP_SKIPPED, "operator_skip")
    data = of_type(decision, Audit)[0].data
    assert data == {"reason": "operator_skip", "operator_reason": "sent by hand"}


def test_operator_mark_done_records_the_given_output() -> None:
    state = running(execution_status=X.NEEDS_ATTENTION, step_status=S.NEEDS_ATTENTION)
    decision = decide(state, OperatorMarkDone({"message_id": "m-1"}, "seen in outbox"), NOW)
    assert (decision.step_status, decision.execution_status) == (S.COMPLETED, X.RUNNING)
    assert kinds(decision) == ["RecordOutput", "ContinueWithNextStep"]
    assert audits(decision) == [(A.WORKFLOW_EXECUTION_STEP_MARKED_DONE, "seen in outbox")]


@pytest.mark.parametrize(
    ("execution", "step", "event"),
    [
        (X.RUNNING, S.RUNNING, OperatorRetry()),
        (X.COMPLETED, S.COMPLETED, OperatorRetry()),
        (X.CANCELED, S.CANCELED, OperatorRetry()),
        (X.FAILED, S.FAILED, OperatorSkip("no")),
        (X.FAILED, S.FAILED, OperatorMarkDone({}, "no")),
        (X.RUNNING, S.RUNNING, OperatorSkip("no")),
        (X.WAITING, S.WAITING, OperatorMarkDone({}, "no")),
    ],
    ids=lambda v: str(v) if not hasattr(v, "__dataclass_fields__") else type(v).__name__,
)
def test_operator_actions_the_machines_refuse_raise(execution: X, step: S, event: Event) -> None:
    with pytest.raises(IllegalTransition):
        decide(running(execution_status=execution, step_status=step), event, NOW)


def test_at_most_once_round_trip_crash_then_operator_retry() -> None:
    state = running(idempotency=I.AT_MOST_ONCE)
    attention = decide(state, LeaseExpired(0.0), NOW)
    assert attention.execution_status is not None
    state = running(
        idempotency=I.AT_MOST_ONCE,
        execution_status=attention.execution_status,
        step_status=attention.step_status,
    )
    retried = decide(state, OperatorRetry(), NOW)
    assert (retried.step_status, retried.execution_status) == (S.PENDING, X.RUNNING)
