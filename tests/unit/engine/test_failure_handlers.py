"""Failure handlers (``compensate`` and ``on_failure``): every event at every state.

A step of a workflow with handlers decides as without them, except that failing the execution
also starts the handlers. A handler decides as a step with ``continue_on_error`` in an
execution that stays ``FAILED``: its failure is recorded and the next handler runs, it never
waits nor needs an operator, and no operator request applies to it.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest

from govflow.core.audit_events import AuditEvent
from govflow.core.engine import (
    TIMED_OUT_REASON,
    ActionUnavailable,
    AttemptFailedBusiness,
    AttemptFailedTechnical,
    AttemptOutcomeUnknown,
    AttemptSucceeded,
    AttemptSuspended,
    Audit,
    CancelRequested,
    ConditionFalse,
    ContinueWithNextStep,
    Decision,
    Event,
    FailExecution,
    LeaseExpired,
    LookupResult,
    OperatorMarkDone,
    OperatorRetry,
    OperatorSkip,
    RecordOutput,
    RecordStepError,
    StartAttempt,
    StartFailureHandlers,
    StepClaimed,
    StepError,
    StepState,
    decide,
    decide_timeout,
)
from govflow.core.error_codes import StepErrorCode
from govflow.core.idempotency import Idempotency
from govflow.core.machines import IllegalTransition
from govflow.core.statuses import ExecutionStatus, StepStatus

from .support import BOOM, NOW, audits, every_event, kinds, of_type, running

REFUSED = StepError("PAYMENT_REFUSED", "the card was declined")

EVENTS: list[Event] = every_event(
    REFUSED, AttemptSuspended({"url": "https://example.org"}, reason="signal")
)
OPERATOR = (CancelRequested, OperatorRetry, OperatorSkip, OperatorMarkDone)

STATES: list[StepState] = [
    running(
        execution_status=execution_status,
        step_status=step_status,
        attempt=attempt,
        idempotency=idempotency,
        attempt_started=started,
        is_last_step=last,
        continue_on_error=tolerant,
    )
    for execution_status, step_status, attempt, idempotency, started, last, tolerant in (
        itertools.product(
            ExecutionStatus,
            StepStatus,
            (1, 3),
            (Idempotency.NONE, Idempotency.REMOTE_LOOKUP, Idempotency.AT_MOST_ONCE),
            (False, True),
            (False, True),
            (False, True),
        )
    )
]
HANDLERS_FROM = 7


def outcome(state: StepState, event: Event) -> Decision | type[Exception]:
    try:
        return decide(state, event, NOW)
    except (IllegalTransition, ValueError) as error:
        return type(error)


def without_handlers(decision: Decision) -> Decision:
    """``decision`` without what starting the handlers adds to it."""
    commands = tuple(
        c
        for c in decision.commands
        if not isinstance(c, StartFailureHandlers)
        and getattr(c, "event_name", None)
        is not AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_STARTED
    )
    return replace(decision, commands=commands)


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: type(event).__name__)
def test_a_step_with_handlers_decides_as_without_and_starts_them_when_it_fails_the_execution(
    event: Event,
) -> None:
    started = 0
    for state in STATES:
        plain = outcome(state, event)
        handled = outcome(replace(state, handlers_from=HANDLERS_FROM), event)
        if not isinstance(plain, Decision):
            assert handled == plain, state
            continue
        assert isinstance(handled, Decision)
        assert without_handlers(handled) == plain, state
        if not of_type(plain, FailExecution):
            assert handled == plain, state
            continue
        started += 1
        assert of_type(handled, StartFailureHandlers) == [StartFailureHandlers(HANDLERS_FROM)]
        names = [name for name, _ in audits(handled)]
        at = names.index(AuditEvent.WORKFLOW_EXECUTION_PROCESS_FAILED)
        assert names[at + 1] is AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_STARTED
        assert at + 2 == len(names)
    failing = (
        AttemptFailedBusiness,
        AttemptFailedTechnical,
        AttemptOutcomeUnknown,
        ActionUnavailable,
        LeaseExpired,
        LookupResult,
    )
    assert (started > 0) == (
        isinstance(event, failing)
        and event != LookupResult({"found": 1}, 0.5)
        and event != ActionUnavailable("jira_comment", handbacks=0, offered_elsewhere=True)
    )


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: type(event).__name__)
def test_a_handler_never_changes_its_failed_execution_and_always_goes_on(event: Event) -> None:
    for state in STATES:
        handler = replace(state, handler=True, handlers_from=HANDLERS_FROM)
        decision = outcome(handler, event)
        if isinstance(event, OPERATOR):
            assert decision is IllegalTransition, state  # no operator steers a handler
            continue
        if state.execution_status is not ExecutionStatus.FAILED:
            if state.execution_status in ExecutionStatus.TERMINAL:
                assert decision == outcome(state, event), state  # stale, as any step
            continue
        if decision is ValueError:  # a lookup result for a step that asks for none
            assert isinstance(event, LookupResult), state
            assert state.idempotency is not Idempotency.REMOTE_LOOKUP, state
            continue
        assert isinstance(decision, Decision), state
        assert decision.execution_status is None, state
        assert not of_type(decision, FailExecution)
        assert not of_type(decision, StartFailureHandlers)
        if decision.step_status is not state.step_status:  # it never waits nor needs anyone
            assert decision.step_status not in (StepStatus.WAITING, StepStatus.NEEDS_ATTENTION)
        names = [name for name, _ in audits(decision)]
        if decision.step_status in StepStatus.DONE or decision.step_status is StepStatus.FAILED:
            if state.step_status not in (StepStatus.RUNNING, StepStatus.PENDING):
                continue  # a stale event about a step that ended: reported only
            if state.is_last_step:
                assert not of_type(decision, ContinueWithNextStep)
                assert names[-1] is AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_FINISHED
            else:
                assert of_type(decision, ContinueWithNextStep) == [ContinueWithNextStep()]
        if decision.step_status is StepStatus.FAILED and state.step_status is StepStatus.RUNNING:
            (recorded,) = of_type(decision, RecordStepError)
            at = names.index(AuditEvent.WORKFLOW_EXECUTION_STEP_FAILED)
            assert names[at + 1] is AuditEvent.WORKFLOW_EXECUTION_STEP_HANDLER_FAILED
            assert recorded.error.code


def handler(**overrides: object) -> StepState:
    """A compensation mid-attempt in a failed execution, more handlers after it."""
    base = running(
        execution_status=ExecutionStatus.FAILED, handler=True, handlers_from=HANDLERS_FROM
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def test_the_failure_fails_the_execution_then_starts_the_handlers() -> None:
    decision = decide(running(handlers_from=4), AttemptFailedBusiness(REFUSED), NOW)
    assert decision.step_status is StepStatus.FAILED
    assert decision.execution_status is ExecutionStatus.FAILED
    assert kinds(decision) == ["FailExecution", "StartFailureHandlers"]
    assert of_type(decision, StartFailureHandlers) == [StartFailureHandlers(4)]
    assert audits(decision) == [
        (AuditEvent.WORKFLOW_EXECUTION_STEP_FAILED, "business_error"),
        (AuditEvent.WORKFLOW_EXECUTION_PROCESS_FAILED, "business_error"),
        (AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_STARTED, "business_error"),
    ]


def test_a_continue_on_error_failure_starts_no_handler() -> None:
    state = running(handlers_from=4, continue_on_error=True)
    decision = decide(state, AttemptFailedBusiness(REFUSED), NOW)
    assert kinds(decision) == ["RecordStepError", "ContinueWithNextStep"]


def test_a_handler_is_claimed_in_the_failed_execution() -> None:
    state = handler(step_status=StepStatus.PENDING, attempt=0, attempt_started=False)
    decision = decide(state, StepClaimed(), NOW)
    assert decision.step_status is StepStatus.RUNNING
    assert decision.execution_status is None
    assert decision.commands[0] == StartAttempt()
    assert audits(decision) == [(AuditEvent.WORKFLOW_EXECUTION_STEP_STARTED, None)]


def test_a_step_that_is_no_handler_is_not_claimed_in_a_failed_execution() -> None:
    state = running(
        execution_status=ExecutionStatus.FAILED, step_status=StepStatus.PENDING, attempt=0
    )
    decision = decide(state, StepClaimed(), NOW)
    assert decision.step_status is StepStatus.PENDING
    assert audits(decision) == [
        (AuditEvent.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "execution_terminal")
    ]


def test_a_completed_handler_goes_on_with_the_next() -> None:
    decision = decide(handler(), AttemptSucceeded({"released": True}), NOW)
    assert decision.step_status is StepStatus.COMPLETED
    assert decision.execution_status is None
    assert kinds(decision) == ["RecordOutput", "ContinueWithNextStep"]
    assert of_type(decision, RecordOutput) == [RecordOutput({"released": True})]


def test_a_compensation_of_a_step_that_did_not_complete_is_skipped() -> None:
    decision = decide(handler(), ConditionFalse(), NOW)
    assert decision.step_status is StepStatus.SKIPPED
    assert kinds(decision) == ["ContinueWithNextStep"]


def test_a_failing_handler_is_recorded_and_the_next_runs() -> None:
    decision = decide(handler(), AttemptFailedBusiness(REFUSED), NOW)
    assert decision.step_status is StepStatus.FAILED
    assert decision.execution_status is None
    assert kinds(decision) == ["RecordStepError", "ContinueWithNextStep"]
    assert audits(decision) == [
        (AuditEvent.WORKFLOW_EXECUTION_STEP_FAILED, "business_error"),
        (AuditEvent.WORKFLOW_EXECUTION_STEP_HANDLER_FAILED, "business_error"),
    ]


def test_the_last_handler_ends_the_handling_and_the_execution_stays_failed() -> None:
    decision = decide(handler(is_last_step=True), AttemptFailedBusiness(REFUSED), NOW)
    assert decision.execution_status is None
    assert kinds(decision) == ["RecordStepError"]
    assert audits(decision)[-1] == (AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_FINISHED, None)
    done = decide(handler(is_last_step=True), AttemptSucceeded({}), NOW)
    assert kinds(done) == ["RecordOutput"]
    assert audits(done)[-1] == (AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_FINISHED, None)


def test_a_handler_retries_a_technical_failure_per_its_policy() -> None:
    decision = decide(handler(), AttemptFailedTechnical(BOOM, 0.5), NOW)
    assert decision.step_status is StepStatus.PENDING
    assert kinds(decision) == ["ScheduleRetry"]
    exhausted = decide(handler(attempt=3), AttemptFailedTechnical(BOOM, 0.5), NOW)
    assert exhausted.step_status is StepStatus.FAILED
    assert kinds(exhausted) == ["RecordStepError", "ContinueWithNextStep"]


def test_a_handler_whose_worker_died_is_run_again_after_backoff() -> None:
    decision = decide(handler(), LeaseExpired(0.5), NOW)
    assert decision.step_status is StepStatus.PENDING
    assert decision.execution_status is None
    assert kinds(decision) == ["ScheduleRetry"]


def test_a_handler_that_would_need_attention_fails_instead() -> None:
    state = handler(idempotency=Idempotency.AT_MOST_ONCE)
    decision = decide(state, LeaseExpired(0.5), NOW)
    assert decision.step_status is StepStatus.FAILED
    assert decision.execution_status is None
    (recorded,) = of_type(decision, RecordStepError)
    assert recorded.error.code == StepErrorCode.HANDLER_NEEDS_ATTENTION
    assert kinds(decision) == ["RecordStepError", "ContinueWithNextStep"]


def test_a_handler_cannot_wait() -> None:
    for reason in ("human_task", "signal"):
        decision = decide(handler(), AttemptSuspended({}, reason=reason), NOW)
        assert decision.step_status is StepStatus.FAILED
        (recorded,) = of_type(decision, RecordStepError)
        assert recorded.error == StepError(
            StepErrorCode.HANDLER_CANNOT_WAIT, "a failure handler cannot wait"
        )
        reasons = {c.reason for c in decision.commands if isinstance(c, Audit)}
        assert reasons == {"handler_cannot_wait"}, reasons


def test_an_operator_request_on_a_handler_names_the_step_machine() -> None:
    with pytest.raises(IllegalTransition, match=r"^step: event OPERATOR_SKIP is not allowed"):
        decide(handler(step_status=StepStatus.NEEDS_ATTENTION), OperatorSkip("no"), NOW)


@pytest.mark.parametrize(
    "event",
    [
        CancelRequested("stop"),
        OperatorRetry(""),
        OperatorSkip("x"),
        OperatorMarkDone({}, "x"),
    ],
    ids=lambda event: type(event).__name__,
)
def test_no_operator_request_applies_to_a_handler(event: Event) -> None:
    for status in (StepStatus.FAILED, StepStatus.NEEDS_ATTENTION, StepStatus.PENDING):
        with pytest.raises(IllegalTransition):
            decide(handler(step_status=status), event, NOW)


@pytest.mark.parametrize(
    "status",
    [
        ExecutionStatus.PENDING,
        ExecutionStatus.RUNNING,
        ExecutionStatus.WAITING,
        ExecutionStatus.NEEDS_ATTENTION,
    ],
)
def test_a_timeout_cancels_the_open_steps_before_the_handlers_and_starts_them(
    status: ExecutionStatus,
) -> None:
    statuses = [*StepStatus, StepStatus.PENDING, StepStatus.PENDING]
    first = len(StepStatus)
    decision = decide_timeout(status, statuses, timedelta(hours=2), NOW, first)
    plain = decide_timeout(status, statuses[:first], timedelta(hours=2), NOW)
    assert decision.execution_status is ExecutionStatus.FAILED
    assert decision.steps == plain.steps  # the handlers are not canceled
    assert decision.commands[: len(plain.commands)] == plain.commands
    rest = decision.commands[len(plain.commands) :]
    assert rest[0] == StartFailureHandlers(first)
    assert isinstance(rest[1], Audit)
    assert rest[1].event_name is AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_STARTED
    assert rest[1].reason == TIMED_OUT_REASON
    assert len(rest) == 2


def test_a_timeout_without_handlers_starts_none() -> None:
    decision = decide_timeout(ExecutionStatus.RUNNING, [StepStatus.PENDING], timedelta(1), NOW)
    assert not [c for c in decision.commands if isinstance(c, StartFailureHandlers)]
    assert list(decision.steps) == [0]
