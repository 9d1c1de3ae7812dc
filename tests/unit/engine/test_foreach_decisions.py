"""foreach in the pure core: how an item's end becomes its step's event (every way an item
ends, under every strategy), and that event decided at every step and execution status."""

from __future__ import annotations

import itertools

import pytest

from govflow.core.audit_events import AuditEvent
from govflow.core.engine import (
    AttemptFailedBusiness,
    AttemptFailedTechnical,
    AttemptOutcomeUnknown,
    AttemptSucceeded,
    ContinueWithNextStep,
    Event,
    FailExecution,
    RecordStepError,
    ScheduleRetry,
    StepError,
    decide,
)
from govflow.core.error_codes import StepErrorCode
from govflow.core.foreach import (
    ItemEnd,
    foreach_output,
    item_event,
)
from govflow.core.idempotency import Idempotency
from govflow.core.statuses import ExecutionStatus, StepStatus

from .support import NOW, SECOND, audits, kinds, running

ERROR = StepError("SOME_CODE", "parcel 12-B is not in the register", {"parcel": "12-B"})

EXPECTED_KIND = {
    ItemEnd.BUSINESS_ERROR: AttemptFailedBusiness,
    ItemEnd.INVALID_INPUT: AttemptFailedBusiness,
    ItemEnd.WAITED: AttemptFailedBusiness,
    ItemEnd.TECHNICAL_ERROR: AttemptFailedTechnical,
    ItemEnd.TIMEOUT: AttemptFailedTechnical,
    ItemEnd.OUTCOME_UNKNOWN: AttemptOutcomeUnknown,
    ItemEnd.UNEXPECTED_ERROR: AttemptFailedTechnical,
}
"""The step's event for each way an item ends, for every strategy but at_most_once."""
AT_MOST_ONCE_KIND = {
    **EXPECTED_KIND,
    ItemEnd.TIMEOUT: AttemptOutcomeUnknown,
    ItemEnd.UNEXPECTED_ERROR: AttemptOutcomeUnknown,
}
"""at_most_once: an item cut off by a timeout or a bug may have had its effect."""


@pytest.mark.parametrize(
    ("end", "strategy"), list(itertools.product(ItemEnd, Idempotency)), ids=str
)
def test_each_item_end_under_each_strategy(end: ItemEnd, strategy: Idempotency) -> None:
    event = item_event(3, end, ERROR, strategy, 0.25, retry_after=2 * SECOND)
    table = AT_MOST_ONCE_KIND if strategy is Idempotency.AT_MOST_ONCE else EXPECTED_KIND
    assert type(event) is table[end]
    if isinstance(event, AttemptFailedBusiness):
        inner = StepErrorCode.FOREACH_CANNOT_WAIT if end is ItemEnd.WAITED else ERROR.code
        assert event.error.code == StepErrorCode.FOREACH_ITEM_FAILED
        assert event.error.details["index"] == 3
        assert event.error.details["code"] == inner
        assert event.error.message.startswith(f"item 3 failed: {inner}: ")
    else:
        assert event.error.code == ERROR.code
        assert event.error.message == "item 3: parcel 12-B is not in the register"
        assert event.error.details == {"parcel": "12-B", "index": 3}
        assert event.rand == 0.25
    if isinstance(event, AttemptFailedTechnical):
        assert event.retry_after == 2 * SECOND


def test_a_failed_item_fails_the_step_and_the_execution() -> None:
    event = item_event(0, ItemEnd.BUSINESS_ERROR, ERROR, Idempotency.NONE, 0.5)
    decision = decide(running(), event, NOW)
    assert (decision.step_status, decision.execution_status) == (
        StepStatus.FAILED,
        ExecutionStatus.FAILED,
    )
    fail = [c for c in decision.commands if isinstance(c, FailExecution)]
    assert fail[0].error.code == StepErrorCode.FOREACH_ITEM_FAILED


def test_a_failed_item_with_continue_on_error_fails_the_step_only() -> None:
    event = item_event(0, ItemEnd.INVALID_INPUT, ERROR, Idempotency.NONE, 0.5)
    decision = decide(running(continue_on_error=True), event, NOW)
    assert (decision.step_status, decision.execution_status) == (StepStatus.FAILED, None)
    assert kinds(decision) == ["RecordStepError", "ContinueWithNextStep"]
    recorded = [c for c in decision.commands if isinstance(c, RecordStepError)]
    assert recorded[0].error.code == StepErrorCode.FOREACH_ITEM_FAILED
    assert any(isinstance(c, ContinueWithNextStep) for c in decision.commands)


@pytest.mark.parametrize("end", [ItemEnd.TECHNICAL_ERROR, ItemEnd.TIMEOUT, ItemEnd.OUTCOME_UNKNOWN])
def test_an_items_technical_end_retries_the_step_then_fails_it(end: ItemEnd) -> None:
    event = item_event(5, end, ERROR, Idempotency.REMOTE_KEY, 0.5)
    retried = decide(running(attempt=1), event, NOW)
    assert retried.step_status is StepStatus.PENDING
    assert [type(c) for c in retried.commands if isinstance(c, ScheduleRetry)] == [ScheduleRetry]
    exhausted = decide(running(attempt=3), event, NOW)
    assert (exhausted.step_status, exhausted.execution_status) == (
        StepStatus.FAILED,
        ExecutionStatus.FAILED,
    )


def test_an_at_most_once_item_cut_off_needs_an_operator() -> None:
    event = item_event(5, ItemEnd.TIMEOUT, ERROR, Idempotency.AT_MOST_ONCE, 0.5)
    decision = decide(running(idempotency=Idempotency.AT_MOST_ONCE), event, NOW)
    assert decision.step_status is StepStatus.NEEDS_ATTENTION
    assert decision.execution_status is ExecutionStatus.NEEDS_ATTENTION


def every_item_event() -> list[Event]:
    return [
        AttemptSucceeded(foreach_output([{"n": 0}, {"n": 1}])),
        *(
            item_event(1, end, ERROR, strategy, 0.5)
            for end in ItemEnd
            for strategy in (Idempotency.NONE, Idempotency.AT_MOST_ONCE)
        ),
    ]


DECIDED_FROM = (
    ExecutionStatus.RUNNING,
    ExecutionStatus.COMPLETED,
    ExecutionStatus.FAILED,
    ExecutionStatus.CANCELED,
)
"""The execution statuses a worker decides an attempt's end from: the one its claim left
(RUNNING: a claim starts a PENDING execution and is refused while it waits for a person), or an
ended one when the worker reports late."""
STEP_STATUSES = tuple(s for s in StepStatus if s is not StepStatus.WAITING)
"""Every step status but WAITING: a foreach step never waits (its items cannot)."""


@pytest.mark.parametrize(
    ("execution", "step"), list(itertools.product(DECIDED_FROM, STEP_STATUSES)), ids=str
)
def test_a_foreach_steps_events_at_every_status(
    execution: ExecutionStatus, step: StepStatus
) -> None:
    """A foreach step's attempt ends only while it is RUNNING in a running execution: at any
    other step status, or once the execution ended, its events change nothing and are reported
    as stale."""
    for event in every_item_event():
        for strategy in (Idempotency.NONE, Idempotency.AT_MOST_ONCE):
            state = running(execution_status=execution, step_status=step, idempotency=strategy)
            decision = decide(state, event, NOW)
            if step is not StepStatus.RUNNING or execution is not ExecutionStatus.RUNNING:
                assert (decision.step_status, decision.execution_status) == (step, None)
                assert [name for name, _ in audits(decision)] == [
                    AuditEvent.WORKFLOW_EXECUTION_PROCESS_SKIPPED
                ]
            elif isinstance(event, AttemptSucceeded):
                assert (decision.step_status, decision.execution_status) == (
                    StepStatus.COMPLETED,
                    None,
                )
                assert kinds(decision) == ["RecordOutput", "ContinueWithNextStep"]
            elif isinstance(event, AttemptFailedBusiness):
                assert (decision.step_status, decision.execution_status) == (
                    StepStatus.FAILED,
                    ExecutionStatus.FAILED,
                )
            elif isinstance(event, AttemptOutcomeUnknown) and strategy is Idempotency.AT_MOST_ONCE:
                assert (decision.step_status, decision.execution_status) == (
                    StepStatus.NEEDS_ATTENTION,
                    ExecutionStatus.NEEDS_ATTENTION,
                )
            else:
                assert (decision.step_status, decision.execution_status) == (
                    StepStatus.PENDING,
                    None,
                )
