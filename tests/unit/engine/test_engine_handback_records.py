"""What a hand-back and an unknown outcome record, compared whole."""

from __future__ import annotations

from govflow.core.audit_events import AuditEvent as A
from govflow.core.engine import (
    HANDBACK_DELAY,
    HANDBACK_DELAY_UNOFFERED,
    HANDBACK_LIMIT,
    ActionUnavailable,
    AttemptOutcomeUnknown,
    Audit,
    FailExecution,
    HandBack,
    ScheduleRetry,
    StepError,
    decide,
)

from .support import BOOM, NOW, SECOND, running

UNSTARTED = running(attempt_started=False)


def test_a_hand_back_records_the_action_the_count_and_when_it_is_claimable_again() -> None:
    at = NOW + HANDBACK_DELAY
    decision = decide(
        UNSTARTED, ActionUnavailable(action="stamp", handbacks=3, offered_elsewhere=True), NOW
    )
    assert decision.commands == (
        HandBack(at),
        Audit(
            A.WORKFLOW_EXECUTION_STEP_HANDED_BACK,
            "action_unavailable",
            {
                "action": "stamp",
                "handbacks": 4,
                "offered_elsewhere": True,
                "next_attempt_at": at.isoformat(),
            },
        ),
    )


def test_the_last_hand_back_before_the_limit_still_hands_back() -> None:
    event = ActionUnavailable(action="stamp", handbacks=HANDBACK_LIMIT - 2, offered_elsewhere=False)
    decision = decide(UNSTARTED, event, NOW)
    assert decision.commands[0] == HandBack(NOW + HANDBACK_DELAY_UNOFFERED)


def test_at_the_limit_an_action_nobody_offers_fails_the_execution_saying_how_to_fix_it() -> None:
    event = ActionUnavailable(action="stamp", handbacks=HANDBACK_LIMIT - 1, offered_elsewhere=False)
    decision = decide(UNSTARTED, event, NOW)
    message = (
        f"no live worker offers the action 'stamp' (handed back {HANDBACK_LIMIT} times): "
        "install the plugin that provides it on the workers and restart them, then retry the "
        "execution"
    )
    data = {"attempt": 1, "code": "ACTION_UNAVAILABLE", "error": message}
    assert decision.commands == (
        Audit(A.WORKFLOW_EXECUTION_STEP_FAILED, "action_unavailable", data),
        FailExecution(StepError("ACTION_UNAVAILABLE", message)),
        Audit(A.WORKFLOW_EXECUTION_PROCESS_FAILED, "action_unavailable", data),
    )


def test_an_unknown_outcome_of_a_retryable_step_is_a_technical_failure_then_a_retry() -> None:
    decision = decide(running(), AttemptOutcomeUnknown(BOOM, 0.0), NOW)
    at = NOW + 2 * SECOND
    assert decision.commands == (
        Audit(
            A.WORKFLOW_EXECUTION_PROCESS_TECHNICAL_FAILURE,
            BOOM.code,
            {"attempt": 1, "error": BOOM.message},
        ),
        ScheduleRetry(at),
        Audit(
            A.WORKFLOW_EXECUTION_STEP_RETRY_SCHEDULED,
            None,
            {"attempt": 1, "next_attempt_at": at.isoformat()},
        ),
    )
