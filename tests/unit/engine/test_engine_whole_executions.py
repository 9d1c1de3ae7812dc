"""Claims decided before their statement, a lease expiring in an ended execution, and canceling
a whole execution: the engine's decisions that the adapters only carry out."""

from __future__ import annotations

from datetime import datetime

import pytest

from govflow.core.audit_events import AuditEvent as A
from govflow.core.engine import (
    Audit,
    CancelHumanTask,
    CancelRequested,
    LeaseExpired,
    StartAttempt,
    StepClaimed,
    decide,
    decide_cancel,
)
from govflow.core.idempotency import Idempotency as I
from govflow.core.machines import IllegalTransition
from govflow.core.statuses import ExecutionStatus as X
from govflow.core.statuses import StepStatus as S

from .support import NOW, SCHEDULE, audits, kinds, running


@pytest.mark.parametrize("attempt", [0, 1, 7])
@pytest.mark.parametrize("idempotency", list(I))
@pytest.mark.parametrize("execution", sorted(X.RUNNABLE))
def test_a_claim_depends_on_the_execution_status_alone(
    execution: X, idempotency: I, attempt: int
) -> None:
    """What lets the worker decide a claim before its statement finds the step."""
    base = running(execution_status=execution, step_status=S.PENDING, attempt=0)
    other = running(
        execution_status=execution,
        step_status=S.PENDING,
        attempt=attempt,
        idempotency=idempotency,
        retry=SCHEDULE,
        attempt_started=False,
        is_last_step=True,
    )
    assert decide(other, StepClaimed(), NOW) == decide(base, StepClaimed(), NOW)


def test_a_claim_starts_an_attempt() -> None:
    decision = decide(running(step_status=S.PENDING), StepClaimed(), NOW)
    assert decision.commands[0] == StartAttempt()
    assert kinds(decision) == ["StartAttempt"]


@pytest.mark.parametrize("execution", [X.WAITING, X.NEEDS_ATTENTION])
def test_no_claim_while_the_execution_waits_for_a_person(execution: X) -> None:
    decision = decide(
        running(execution_status=execution, step_status=S.PENDING), StepClaimed(), NOW
    )
    assert (decision.step_status, decision.execution_status) == (S.PENDING, None)
    assert kinds(decision) == []
    assert audits(decision) == [(A.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "stale_event")]


@pytest.mark.parametrize("execution", sorted(X.TERMINAL))
def test_an_expired_lease_in_an_ended_execution_closes_the_step(execution: X) -> None:
    state = running(execution_status=execution, idempotency=I.AT_MOST_ONCE)
    decision = decide(state, LeaseExpired(0.5), NOW)
    assert (decision.step_status, decision.execution_status) == (S.CANCELED, None)
    assert kinds(decision) == []
    assert audits(decision) == [
        (A.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "execution_terminal"),
        (A.WORKFLOW_EXECUTION_STEP_CANCELED, "execution_ended"),
    ]


def test_cancel_cancels_every_step_that_has_not_ended() -> None:
    steps = [S.COMPLETED, S.SKIPPED, S.WAITING, S.PENDING, S.PENDING]
    decision = decide_cancel(X.WAITING, steps, CancelRequested("withdrawn"), NOW)
    assert decision.execution_status is X.CANCELED
    assert sorted(decision.steps) == [2, 3, 4]
    assert {d.step_status for d in decision.steps.values()} == {S.CANCELED}
    assert all(d.execution_status is None for d in decision.steps.values())
    assert list(decision.steps[2].commands) == [
        CancelHumanTask(),
        Audit(A.WORKFLOW_EXECUTION_STEP_CANCELED, "withdrawn"),
    ]
    assert list(decision.steps[3].commands) == [
        Audit(A.WORKFLOW_EXECUTION_STEP_CANCELED, "withdrawn")
    ]
    assert list(decision.commands) == [Audit(A.WORKFLOW_EXECUTION_CANCELED, "withdrawn")]


@pytest.mark.parametrize(
    ("execution", "step"),
    [(X.PENDING, S.PENDING), (X.RUNNING, S.RUNNING), (X.NEEDS_ATTENTION, S.NEEDS_ATTENTION)],
)
def test_cancel_of_an_active_execution(execution: X, step: S) -> None:
    decision = decide_cancel(execution, [S.COMPLETED, step], CancelRequested(), NOW)
    assert decision.execution_status is X.CANCELED
    assert list(decision.steps) == [1]
    assert list(decision.steps[1].commands) == [Audit(A.WORKFLOW_EXECUTION_STEP_CANCELED, None)]
    assert list(decision.commands) == [Audit(A.WORKFLOW_EXECUTION_CANCELED, None)]


@pytest.mark.parametrize("execution", sorted(X.TERMINAL))
def test_cancel_of_an_ended_execution_is_refused(execution: X) -> None:
    with pytest.raises(IllegalTransition):
        decide_cancel(execution, [S.COMPLETED, S.CANCELED], CancelRequested(), NOW)


def test_cancel_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide_cancel(X.RUNNING, [S.RUNNING], CancelRequested(), datetime(2030, 1, 1))
