"""An attempt that cannot tell whether its effect happened (``AttemptOutcomeUnknown``)."""

from __future__ import annotations

import pytest

from govflow.core.audit_events import AuditEvent as A
from govflow.core.engine import (
    AttemptOutcomeUnknown,
    Audit,
    ScheduleRetry,
    StepError,
    decide,
)
from govflow.core.idempotency import Idempotency as I
from govflow.core.statuses import ExecutionStatus as X
from govflow.core.statuses import StepStatus as S

from .support import NOW, SECOND, audits, kinds, running

LOST = StepError(
    "OUTCOME_UNKNOWN",
    "the connection broke after the message was sent",
    {"outcome": "unknown"},
)


@pytest.mark.parametrize("attempt", [1, 3])
def test_at_most_once_goes_to_needs_attention_and_is_never_retried(attempt: int) -> None:
    state = running(idempotency=I.AT_MOST_ONCE, attempt=attempt)
    decision = decide(state, AttemptOutcomeUnknown(LOST, 0.5), NOW)
    assert decision.step_status is S.NEEDS_ATTENTION
    assert decision.execution_status is X.NEEDS_ATTENTION
    assert kinds(decision) == []  # no retry scheduled, no failure, nothing continues
    step, process = (c for c in decision.commands if isinstance(c, Audit))
    assert (step.event_name, step.reason) == (
        A.WORKFLOW_EXECUTION_STEP_NEEDS_ATTENTION,
        "outcome_unknown",
    )
    assert dict(step.data) == {
        "attempt": attempt,
        "code": "OUTCOME_UNKNOWN",
        "error": "the connection broke after the message was sent",
    }
    assert (process.event_name, process.reason) == (
        A.WORKFLOW_EXECUTION_PROCESS_NEEDS_ATTENTION,
        "outcome_unknown",
    )


@pytest.mark.parametrize("strategy", [I.NONE, I.LOCAL, I.REMOTE_KEY, I.REMOTE_LOOKUP])
def test_a_strategy_that_may_repeat_retries_like_a_technical_failure(strategy: I) -> None:
    decision = decide(running(idempotency=strategy), AttemptOutcomeUnknown(LOST, 0.0), NOW)
    assert decision.step_status is S.PENDING
    assert decision.execution_status is None
    (retry,) = (c for c in decision.commands if isinstance(c, ScheduleRetry))
    assert retry.at == NOW + 2 * SECOND
    assert audits(decision)[0] == (A.WORKFLOW_EXECUTION_PROCESS_TECHNICAL_FAILURE, LOST.code)


def test_a_strategy_that_may_repeat_fails_once_the_attempts_are_spent() -> None:
    state = running(idempotency=I.REMOTE_KEY, attempt=3)
    decision = decide(state, AttemptOutcomeUnknown(LOST, 0.0), NOW)
    assert decision.step_status is S.FAILED
    assert decision.execution_status is X.FAILED
    assert kinds(decision) == ["FailExecution"]


def test_a_late_report_changes_nothing() -> None:
    state = running(idempotency=I.AT_MOST_ONCE, step_status=S.NEEDS_ATTENTION)
    decision = decide(state, AttemptOutcomeUnknown(LOST, 0.0), NOW)
    assert decision.step_status is S.NEEDS_ATTENTION
    assert decision.execution_status is None
    assert audits(decision) == [(A.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "stale_event")]
