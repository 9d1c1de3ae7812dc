"""``continue_on_error``: every event at every state decides as without it, except a failure
that would fail the execution, which fails the step alone and goes on."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from govflow.core.audit_events import AuditEvent
from govflow.core.engine import (
    ActionUnavailable,
    AttemptFailedBusiness,
    AttemptFailedTechnical,
    AttemptOutcomeUnknown,
    CompleteExecution,
    ContinueWithNextStep,
    Decision,
    Event,
    FailExecution,
    LeaseExpired,
    LookupResult,
    RecordStepError,
    StepError,
    StepState,
    decide,
    execution_outcome,
    next_step_index,
)
from govflow.core.idempotency import Idempotency
from govflow.core.machines import IllegalTransition
from govflow.core.statuses import ExecutionStatus, StepStatus

from .support import BOOM, NOW, audits, every_event, kinds, of_type, running

REFUSED = StepError("REFUSED", "the permit office refused the request")

EVENTS: list[Event] = every_event(REFUSED)

STATES: list[StepState] = [
    running(
        execution_status=execution_status,
        step_status=step_status,
        attempt=attempt,
        idempotency=idempotency,
        attempt_started=started,
        is_last_step=last,
    )
    for execution_status, step_status, attempt, idempotency, started, last in itertools.product(
        ExecutionStatus,
        StepStatus,
        (1, 3),
        (Idempotency.NONE, Idempotency.REMOTE_LOOKUP, Idempotency.AT_MOST_ONCE),
        (False, True),
        (False, True),
    )
]


def outcome(state: StepState, event: Event) -> Decision | type[Exception]:
    try:
        return decide(state, event, NOW)
    except (IllegalTransition, ValueError) as error:
        return type(error)


def fails_execution(decision: Decision | type[Exception]) -> bool:
    return isinstance(decision, Decision) and bool(of_type(decision, FailExecution))


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: type(event).__name__)
def test_every_event_at_every_state(event: Event) -> None:
    changed = 0
    for state in STATES:
        plain = outcome(state, event)
        tolerant = outcome(replace(state, continue_on_error=True), event)
        if not fails_execution(plain):
            assert tolerant == plain, state
            continue
        assert isinstance(plain, Decision)
        (failure,) = of_type(plain, FailExecution)
        if failure.error.code == "ACTION_UNAVAILABLE":
            assert tolerant == plain, state  # nobody can run it: an operator's business
            continue
        changed += 1
        assert isinstance(tolerant, Decision)
        assert tolerant.step_status is StepStatus.FAILED
        assert of_type(tolerant, RecordStepError) == [RecordStepError(failure.error)]
        assert not of_type(tolerant, FailExecution)
        names = [name for name, _ in audits(tolerant)]
        assert AuditEvent.WORKFLOW_EXECUTION_PROCESS_FAILED not in names
        at = names.index(AuditEvent.WORKFLOW_EXECUTION_STEP_FAILED)
        assert names[at + 1] is AuditEvent.WORKFLOW_EXECUTION_STEP_FAILURE_CONTINUED
        if state.is_last_step:
            assert tolerant.execution_status is ExecutionStatus.COMPLETED
            assert of_type(tolerant, CompleteExecution) == [CompleteExecution()]
            assert names[-1] is AuditEvent.WORKFLOW_EXECUTION_PROCESS_COMPLETED
        else:
            resumed = state.execution_status in (ExecutionStatus.WAITING, ExecutionStatus.PENDING)
            expected = ExecutionStatus.RUNNING if resumed else None
            assert tolerant.execution_status is expected
            assert of_type(tolerant, ContinueWithNextStep) == [ContinueWithNextStep()]
    failing = {
        AttemptFailedBusiness,
        AttemptFailedTechnical,
        AttemptOutcomeUnknown,
        LeaseExpired,
        LookupResult,
    }
    assert (changed > 0) == (type(event) in failing and event != LookupResult({"found": 1}, 0.5))


def test_a_business_error_fails_the_step_alone_and_goes_on() -> None:
    decision = decide(running(continue_on_error=True), AttemptFailedBusiness(REFUSED), NOW)
    assert decision.step_status is StepStatus.FAILED
    assert decision.execution_status is None
    assert kinds(decision) == ["RecordStepError", "ContinueWithNextStep"]
    assert audits(decision) == [
        (AuditEvent.WORKFLOW_EXECUTION_STEP_FAILED, "business_error"),
        (AuditEvent.WORKFLOW_EXECUTION_STEP_FAILURE_CONTINUED, "business_error"),
    ]
    data = {"attempt": 1, "code": "REFUSED", "error": "the permit office refused the request"}
    assert [dict(c.data) for c in decision.commands if hasattr(c, "data")] == [data, data]


def test_the_last_attempt_of_the_last_step_completes_the_execution() -> None:
    state = running(attempt=3, is_last_step=True, continue_on_error=True)
    decision = decide(state, AttemptFailedTechnical(BOOM, 0.5), NOW)
    assert (decision.step_status, decision.execution_status) == (
        StepStatus.FAILED,
        ExecutionStatus.COMPLETED,
    )
    assert kinds(decision) == ["RecordStepError", "CompleteExecution"]
    assert audits(decision) == [
        (AuditEvent.WORKFLOW_EXECUTION_PROCESS_TECHNICAL_FAILURE, "TIMEOUT"),
        (AuditEvent.WORKFLOW_EXECUTION_STEP_FAILED, "attempts_exhausted"),
        (AuditEvent.WORKFLOW_EXECUTION_STEP_FAILURE_CONTINUED, "attempts_exhausted"),
        (AuditEvent.WORKFLOW_EXECUTION_PROCESS_COMPLETED, None),
    ]


def test_a_rejected_human_task_resumes_the_waiting_execution() -> None:
    state = running(
        execution_status=ExecutionStatus.WAITING,
        step_status=StepStatus.WAITING,
        continue_on_error=True,
    )
    rejected = StepError("task_rejected", "the task was rejected: incomplete file")
    decision = decide(state, AttemptFailedBusiness(rejected), NOW)
    assert (decision.step_status, decision.execution_status) == (
        StepStatus.FAILED,
        ExecutionStatus.RUNNING,
    )
    assert kinds(decision) == ["RecordStepError", "ContinueWithNextStep"]
    assert audits(decision)[-1] == (AuditEvent.WORKFLOW_EXECUTION_PROCESS_RESUMED, None)


def test_a_recovery_out_of_attempts_goes_on() -> None:
    state = running(attempt=3, attempt_started=False, continue_on_error=True)
    decision = decide(state, LeaseExpired(0.5), NOW)
    assert decision.step_status is StepStatus.FAILED
    assert decision.execution_status is None
    (recorded,) = of_type(decision, RecordStepError)
    assert recorded.error.code == "LEASE_EXPIRED"
    assert audits(decision)[0] == (
        AuditEvent.WORKFLOW_EXECUTION_RECOVERY_FAILED,
        "attempts_exhausted",
    )


def test_needs_attention_and_action_unavailable_are_not_tolerated() -> None:
    at_most_once = running(idempotency=Idempotency.AT_MOST_ONCE, continue_on_error=True)
    attention = decide(at_most_once, AttemptOutcomeUnknown(BOOM, 0.5), NOW)
    assert attention.execution_status is ExecutionStatus.NEEDS_ATTENTION
    unavailable = decide(
        running(continue_on_error=True),
        ActionUnavailable("jira_comment", handbacks=59, offered_elsewhere=False),
        NOW,
    )
    assert unavailable.execution_status is ExecutionStatus.FAILED
    assert not of_type(unavailable, RecordStepError)


F, C, K, P = StepStatus.FAILED, StepStatus.COMPLETED, StepStatus.SKIPPED, StepStatus.PENDING


@pytest.mark.parametrize(
    ("steps", "tolerant", "outcome_", "next_index"),
    [
        ([C, F, C], [False, True, False], ExecutionStatus.COMPLETED, None),
        ([C, F, P], [False, True], None, 2),
        ([C, F, P], [True, False, False], ExecutionStatus.FAILED, None),
        ([F, F], [True, True], ExecutionStatus.COMPLETED, None),
        ([F, K], [True], ExecutionStatus.COMPLETED, None),
        ([C, F], [], ExecutionStatus.FAILED, None),
    ],
)
def test_outcome_counts_a_tolerated_failure_as_done(
    steps: list[StepStatus],
    tolerant: list[bool],
    outcome_: ExecutionStatus | None,
    next_index: int | None,
) -> None:
    assert execution_outcome(steps, tolerant) == outcome_
    assert next_step_index(steps, tolerant) == next_index
