"""The ordinary life of a step: claim, success, failures, retries, waiting, conditions."""

from __future__ import annotations

from datetime import datetime

import pytest

from govflow.core.audit_events import AuditEvent as A
from govflow.core.engine import (
    AttemptFailedBusiness,
    AttemptFailedTechnical,
    AttemptSucceeded,
    AttemptSuspended,
    Audit,
    ConditionFalse,
    CreateHumanTask,
    FailExecution,
    RecordOutput,
    ScheduleRetry,
    StepClaimed,
    StepState,
    decide,
)
from govflow.core.retry import JitterMode, RetrySchedule
from govflow.core.statuses import ExecutionStatus as X
from govflow.core.statuses import StepStatus as S

from .support import BOOM, NOW, SCHEDULE, SECOND, audits, kinds, of_type, running


def test_first_claim_starts_the_execution() -> None:
    state = running(execution_status=X.PENDING, step_status=S.PENDING, attempt=0)
    decision = decide(state, StepClaimed(), NOW)
    assert (decision.step_status, decision.execution_status) == (S.RUNNING, X.RUNNING)
    assert audits(decision) == [
        (A.WORKFLOW_EXECUTION_PROCESS_STARTED, None),
        (A.WORKFLOW_EXECUTION_STEP_STARTED, None),
    ]
    assert kinds(decision) == ["StartAttempt"]
    assert of_type(decision, Audit)[-1].data == {}  # the attempt is counted by the claim itself


def test_later_claim_leaves_the_execution_status_alone() -> None:
    decision = decide(running(step_status=S.PENDING), StepClaimed(), NOW)
    assert (decision.step_status, decision.execution_status) == (S.RUNNING, None)
    assert audits(decision) == [(A.WORKFLOW_EXECUTION_STEP_STARTED, None)]


def test_success_records_output_and_continues() -> None:
    decision = decide(running(), AttemptSucceeded({"id": 7}), NOW)
    assert (decision.step_status, decision.execution_status) == (S.COMPLETED, None)
    assert kinds(decision) == ["RecordOutput", "ContinueWithNextStep"]
    assert of_type(decision, RecordOutput) == [RecordOutput({"id": 7})]
    assert audits(decision) == [(A.WORKFLOW_EXECUTION_STEP_COMPLETED, None)]


def test_success_of_the_last_step_completes_the_execution() -> None:
    decision = decide(running(is_last_step=True), AttemptSucceeded({}), NOW)
    assert (decision.step_status, decision.execution_status) == (S.COMPLETED, X.COMPLETED)
    assert kinds(decision) == ["RecordOutput", "CompleteExecution"]
    assert audits(decision)[-1] == (A.WORKFLOW_EXECUTION_PROCESS_COMPLETED, None)


@pytest.mark.parametrize(("last", "execution"), [(False, X.RUNNING), (True, X.COMPLETED)])
def test_approval_of_a_waiting_step_resumes_the_execution(last: bool, execution: X) -> None:
    state = running(execution_status=X.WAITING, step_status=S.WAITING, is_last_step=last)
    decision = decide(state, AttemptSucceeded({"decision": "approved"}), NOW)
    assert (decision.step_status, decision.execution_status) == (S.COMPLETED, execution)
    assert (A.WORKFLOW_EXECUTION_PROCESS_RESUMED, None) in audits(decision)


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_business_error_fails_at_once_without_retry(attempt: int) -> None:
    decision = decide(running(attempt=attempt), AttemptFailedBusiness(BOOM), NOW)
    assert (decision.step_status, decision.execution_status) == (S.FAILED, X.FAILED)
    assert of_type(decision, FailExecution) == [FailExecution(BOOM)]
    assert of_type(decision, ScheduleRetry) == []
    assert audits(decision) == [
        (A.WORKFLOW_EXECUTION_STEP_FAILED, "business_error"),
        (A.WORKFLOW_EXECUTION_PROCESS_FAILED, "business_error"),
    ]


def test_business_error_of_a_waiting_step_fails_the_waiting_execution() -> None:
    state = running(execution_status=X.WAITING, step_status=S.WAITING)
    decision = decide(state, AttemptFailedBusiness(BOOM), NOW)
    assert (decision.step_status, decision.execution_status) == (S.FAILED, X.FAILED)


@pytest.mark.parametrize(("attempt", "delay"), [(1, 2), (2, 4)])
def test_technical_error_goes_back_to_pending_with_backoff(attempt: int, delay: int) -> None:
    decision = decide(running(attempt=attempt), AttemptFailedTechnical(BOOM, 0.9), NOW)
    assert (decision.step_status, decision.execution_status) == (S.PENDING, None)
    assert of_type(decision, ScheduleRetry) == [ScheduleRetry(NOW + delay * SECOND)]
    assert audits(decision) == [
        (A.WORKFLOW_EXECUTION_PROCESS_TECHNICAL_FAILURE, "TIMEOUT"),
        (A.WORKFLOW_EXECUTION_STEP_RETRY_SCHEDULED, None),
    ]


def test_exhausted_attempts_fail_with_the_last_error() -> None:
    last = AttemptFailedTechnical(BOOM, 0.1)
    decision = decide(running(attempt=3), last, NOW)
    assert (decision.step_status, decision.execution_status) == (S.FAILED, X.FAILED)
    assert of_type(decision, FailExecution) == [FailExecution(BOOM)]
    assert of_type(decision, ScheduleRetry) == []
    assert audits(decision) == [
        (A.WORKFLOW_EXECUTION_PROCESS_TECHNICAL_FAILURE, "TIMEOUT"),
        (A.WORKFLOW_EXECUTION_STEP_FAILED, "attempts_exhausted"),
        (A.WORKFLOW_EXECUTION_PROCESS_FAILED, "attempts_exhausted"),
    ]


def test_retries_run_until_exhausted_then_fail() -> None:
    """Attempt after attempt, the step is retried at growing delays, then fails."""
    state = running(attempt=0, step_status=S.PENDING, retry=SCHEDULE)
    retry_times: list[datetime] = []
    for _ in range(SCHEDULE.max_attempts):
        claimed = decide(state, StepClaimed(), NOW)
        state = running(attempt=state.attempt + 1, step_status=claimed.step_status)
        decision = decide(state, AttemptFailedTechnical(BOOM, 0.0), NOW)
        retry_times += [c.at for c in of_type(decision, ScheduleRetry)]
        state = running(attempt=state.attempt, step_status=decision.step_status)
    assert state.step_status is S.FAILED
    assert retry_times == [NOW + 2 * SECOND, NOW + 4 * SECOND]


@pytest.mark.parametrize("rand", [0.0, 0.25, 0.5, 0.999])
def test_jittered_retry_stays_within_its_bounds(rand: float) -> None:
    jittered = RetrySchedule(
        max_attempts=9, initial_delay=SECOND, max_delay=10 * SECOND, jitter_mode=JitterMode.EQUAL
    )
    for attempt, full in [(1, 1), (3, 4), (5, 10), (8, 10)]:
        decision = decide(
            running(attempt=attempt, retry=jittered), AttemptFailedTechnical(BOOM, rand), NOW
        )
        (retry,) = of_type(decision, ScheduleRetry)
        assert NOW + full * SECOND / 2 <= retry.at <= NOW + full * SECOND


def test_suspension_opens_a_human_task_and_the_execution_waits() -> None:
    decision = decide(running(), AttemptSuspended({"form": "approval"}), NOW)
    assert (decision.step_status, decision.execution_status) == (S.WAITING, X.WAITING)
    assert of_type(decision, CreateHumanTask) == [CreateHumanTask({"form": "approval"})]
    assert audits(decision) == [
        (A.WORKFLOW_EXECUTION_STEP_WAITING, None),
        (A.WORKFLOW_EXECUTION_PROCESS_WAITING, None),
    ]


@pytest.mark.parametrize(
    ("execution", "last", "new_execution", "next_command"),
    [
        (X.RUNNING, False, None, "ContinueWithNextStep"),
        (X.RUNNING, True, X.COMPLETED, "CompleteExecution"),
        (X.PENDING, False, X.RUNNING, "ContinueWithNextStep"),
        (X.PENDING, True, X.COMPLETED, "CompleteExecution"),
    ],
)
def test_false_condition_skips_the_step(
    execution: X, last: bool, new_execution: X | None, next_command: str
) -> None:
    state = running(execution_status=execution, step_status=S.PENDING, is_last_step=last)
    decision = decide(state, ConditionFalse(), NOW)
    assert (decision.step_status, decision.execution_status) == (S.SKIPPED, new_execution)
    assert kinds(decision) == [next_command]
    skipped = [a for a in audits(decision) if a[0] is A.WORKFLOW_EXECUTION_STEP_SKIPPED]
    assert skipped == [(A.WORKFLOW_EXECUTION_STEP_SKIPPED, "condition_false")]
    assert of_type(decision, Audit)[0].data["reason"] == "condition_false"


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        decide(running(), AttemptSucceeded({}), datetime(2030, 1, 1))


def test_negative_attempt_is_rejected() -> None:
    with pytest.raises(ValueError, match="attempt"):
        running(attempt=-1)


def test_state_exposes_max_attempts_from_its_schedule() -> None:
    assert isinstance(running(), StepState)
    assert running().max_attempts == SCHEDULE.max_attempts
