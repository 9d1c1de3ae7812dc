"""The engine's side of plugin contract v1: a failure's ``retry_after``, error details, a
suspend on a signal, and steps handed back by a worker that lacks their action."""

from __future__ import annotations

from datetime import timedelta

import pytest

from govflow.core.audit_events import AuditEvent as A
from govflow.core.engine import (
    HANDBACK_DELAY,
    HANDBACK_DELAY_UNOFFERED,
    HANDBACK_LIMIT,
    ActionUnavailable,
    AttemptFailedTechnical,
    AttemptSuspended,
    Audit,
    AwaitSignal,
    CreateHumanTask,
    FailExecution,
    HandBack,
    ScheduleRetry,
    StepError,
    decide,
)
from govflow.core.retry import RETRY_AFTER_CAP, RetrySchedule, decide_retry, honoured_delay
from govflow.core.statuses import ExecutionStatus as X
from govflow.core.statuses import StepStatus as S

from .support import BOOM, NOW, SCHEDULE, SECOND, audits, kinds, of_type, running

# retry_after ------------------------------------------------------------------------------------


def test_a_longer_retry_after_wins_over_the_backoff() -> None:
    decision = decide_retry(SCHEDULE, 1, NOW, 0.0, retry_after=7 * SECOND)
    assert decision.delay == 7 * SECOND
    assert decision.next_attempt_at == NOW + 7 * SECOND


def test_a_shorter_retry_after_leaves_the_backoff() -> None:
    # attempt 2 of the schedule waits 4s (2s doubled); asking for 1s changes nothing
    assert decide_retry(SCHEDULE, 2, NOW, 0.0, retry_after=SECOND).delay == 4 * SECOND


def test_retry_after_overrides_max_delay_but_not_the_cap() -> None:
    assert decide_retry(SCHEDULE, 1, NOW, 0.0, retry_after=2 * 60 * SECOND).delay == 120 * SECOND
    huge = decide_retry(SCHEDULE, 1, NOW, 0.0, retry_after=timedelta(days=3))
    assert huge.delay == RETRY_AFTER_CAP


def test_a_negative_retry_after_counts_as_none() -> None:
    assert honoured_delay(3 * SECOND, -10 * SECOND) == 3 * SECOND
    assert honoured_delay(3 * SECOND, None) == 3 * SECOND


def test_retry_after_does_not_buy_attempts_past_the_budget() -> None:
    assert not decide_retry(SCHEDULE, 3, NOW, 0.0, retry_after=SECOND).should_retry


def test_retry_after_with_jitter_is_never_shortened_by_it() -> None:
    jittery = RetrySchedule(initial_delay=10 * SECOND, max_delay=60 * SECOND, jitter=True)
    assert decide_retry(jittery, 1, NOW, 0.0, retry_after=8 * SECOND).delay == 8 * SECOND


def test_the_engine_schedules_the_retry_no_sooner_than_asked() -> None:
    event = AttemptFailedTechnical(BOOM, 0.0, retry_after=9 * SECOND)
    decision = decide(running(), event, NOW)
    assert decision.step_status is S.PENDING
    assert of_type(decision, ScheduleRetry) == [ScheduleRetry(NOW + 9 * SECOND)]
    failure = A.WORKFLOW_EXECUTION_PROCESS_TECHNICAL_FAILURE
    recorded = [c.data for c in of_type(decision, Audit) if c.event_name is failure]
    assert recorded[0]["retry_after_seconds"] == 9.0


def test_without_retry_after_the_backoff_alone_decides() -> None:
    decision = decide(running(), AttemptFailedTechnical(BOOM, 0.0), NOW)
    assert of_type(decision, ScheduleRetry) == [ScheduleRetry(NOW + 2 * SECOND)]


# details ----------------------------------------------------------------------------------------


def test_details_travel_with_the_error_into_the_failure() -> None:
    error = StepError("TECHNICAL_ERROR", "rate limited", {"status_code": 429})
    decision = decide(running(attempt=3), AttemptFailedTechnical(error, 0.0), NOW)
    assert of_type(decision, FailExecution)[0].error.details == {"status_code": 429}


# suspend on a signal ----------------------------------------------------------------------------


def test_a_suspend_for_a_human_task_opens_one() -> None:
    decision = decide(running(), AttemptSuspended({"title": "t"}), NOW)
    assert kinds(decision) == ["CreateHumanTask"]
    assert of_type(decision, CreateHumanTask)[0].payload == {"title": "t"}


def test_a_suspend_for_anything_else_waits_for_a_signal() -> None:
    decision = decide(running(), AttemptSuspended({"order": 7}, "payment_callback"), NOW)
    assert decision.step_status is S.WAITING
    assert decision.execution_status is X.WAITING
    assert of_type(decision, AwaitSignal) == [AwaitSignal("payment_callback", {"order": 7})]
    assert not of_type(decision, CreateHumanTask)
    assert (A.WORKFLOW_EXECUTION_STEP_WAITING, "payment_callback") in audits(decision)


# hand-backs -------------------------------------------------------------------------------------


def test_a_step_whose_action_is_offered_elsewhere_is_handed_back_soon() -> None:
    decision = decide(running(), ActionUnavailable("jira_comment", 0, True), NOW)
    assert decision.step_status is S.PENDING
    assert decision.execution_status is None
    assert of_type(decision, HandBack) == [HandBack(NOW + HANDBACK_DELAY)]
    assert audits(decision) == [(A.WORKFLOW_EXECUTION_STEP_HANDED_BACK, "action_unavailable")]


def test_a_step_nobody_offers_is_handed_back_later() -> None:
    decision = decide(running(), ActionUnavailable("jira_comment", 3, False), NOW)
    assert of_type(decision, HandBack) == [HandBack(NOW + HANDBACK_DELAY_UNOFFERED)]


def test_a_step_nobody_offers_fails_after_the_limit_naming_the_fix() -> None:
    event = ActionUnavailable("jira_comment", HANDBACK_LIMIT - 1, False)
    decision = decide(running(), event, NOW)
    assert decision.step_status is S.FAILED
    assert decision.execution_status is X.FAILED
    error = of_type(decision, FailExecution)[0].error
    assert error.code == "ACTION_UNAVAILABLE"
    assert "'jira_comment'" in error.message
    assert "restart" in error.message


def test_a_step_offered_elsewhere_is_handed_on_past_the_limit() -> None:
    decision = decide(running(), ActionUnavailable("jira_comment", HANDBACK_LIMIT + 5, True), NOW)
    assert decision.step_status is S.PENDING


@pytest.mark.parametrize("status", [S.PENDING, S.COMPLETED, S.WAITING])
def test_a_hand_back_of_a_step_that_moved_on_changes_nothing(status: S) -> None:
    decision = decide(running(step_status=status), ActionUnavailable("a", 0, True), NOW)
    assert decision.step_status is status
    assert not of_type(decision, HandBack)
