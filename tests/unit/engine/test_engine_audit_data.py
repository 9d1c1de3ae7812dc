"""The audit records of the engine's decisions, with their data: the audit log is a contract.

Each record is compared whole (event, reason, data), so an attempt number, an error message or a
reason that goes missing from the log fails here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, tzinfo
from typing import Any

import pytest

from govflow.core.audit_events import AuditEvent as A
from govflow.core.engine import (
    AttemptFailedTechnical,
    AttemptSucceeded,
    Audit,
    ConditionFalse,
    Decision,
    FailExecution,
    LeaseExpired,
    LookupResult,
    OperatorMarkDone,
    RecordOutput,
    StepError,
    decide,
)
from govflow.core.idempotency import Idempotency
from govflow.core.statuses import ExecutionStatus, StepStatus
from tests.unit.engine.support import BOOM, NOW, SECOND, of_type, running

Record = tuple[A, str | None, dict[str, Any]]


def records(decision: Decision) -> list[Record]:
    return [
        (c.event_name, c.reason, dict(c.data)) for c in decision.commands if isinstance(c, Audit)
    ]


def test_a_success_records_the_output_and_the_attempt() -> None:
    decision = decide(running(attempt=2), AttemptSucceeded({"id": 7}), NOW)
    assert of_type(decision, RecordOutput) == [RecordOutput({"id": 7})]
    assert records(decision) == [(A.WORKFLOW_EXECUTION_STEP_COMPLETED, None, {"attempt": 2})]


def test_a_technical_failure_records_the_error_and_the_next_attempt() -> None:
    decision = decide(running(attempt=1), AttemptFailedTechnical(BOOM, 0.0), NOW)
    assert records(decision) == [
        (
            A.WORKFLOW_EXECUTION_PROCESS_TECHNICAL_FAILURE,
            "TIMEOUT",
            {"attempt": 1, "error": BOOM.message},
        ),
        (
            A.WORKFLOW_EXECUTION_STEP_RETRY_SCHEDULED,
            None,
            {"attempt": 1, "next_attempt_at": (NOW + 2 * SECOND).isoformat()},
        ),
    ]


def test_the_last_technical_failure_records_the_error_on_step_and_execution() -> None:
    decision = decide(running(attempt=3), AttemptFailedTechnical(BOOM, 0.0), NOW)
    failed = {"attempt": 3, "code": "TIMEOUT", "error": BOOM.message}
    assert records(decision)[1:] == [
        (A.WORKFLOW_EXECUTION_STEP_FAILED, "attempts_exhausted", failed),
        (A.WORKFLOW_EXECUTION_PROCESS_FAILED, "attempts_exhausted", failed),
    ]
    assert of_type(decision, FailExecution) == [FailExecution(BOOM)]


def test_a_lost_lease_records_the_recovery_and_the_next_attempt() -> None:
    decision = decide(running(attempt=1, idempotency=Idempotency.LOCAL), LeaseExpired(0.0), NOW)
    assert records(decision) == [
        (A.WORKFLOW_EXECUTION_STEP_RECOVERED, "local", {"attempt": 1}),
        (
            A.WORKFLOW_EXECUTION_STEP_RETRY_SCHEDULED,
            None,
            {"attempt": 1, "next_attempt_at": (NOW + 2 * SECOND).isoformat()},
        ),
    ]


def test_the_last_lost_lease_fails_with_a_lease_error() -> None:
    decision = decide(running(attempt=3), LeaseExpired(0.0), NOW)
    lost = StepError("LEASE_EXPIRED", "the worker lost its lease during attempt 3")
    failed = {"attempt": 3, "code": lost.code, "error": lost.message}
    assert records(decision) == [
        (A.WORKFLOW_EXECUTION_RECOVERY_FAILED, "attempts_exhausted", {"attempt": 3}),
        (A.WORKFLOW_EXECUTION_STEP_FAILED, "attempts_exhausted", failed),
        (A.WORKFLOW_EXECUTION_PROCESS_FAILED, "attempts_exhausted", failed),
    ]
    assert of_type(decision, FailExecution) == [FailExecution(lost)]


def test_an_interrupted_at_most_once_step_records_why_it_needs_attention() -> None:
    state = running(attempt=2, idempotency=Idempotency.AT_MOST_ONCE)
    decision = decide(state, LeaseExpired(0.0), NOW)
    assert records(decision) == [
        (A.WORKFLOW_EXECUTION_STEP_NEEDS_ATTENTION, "at_most_once_interrupted", {"attempt": 2}),
        (A.WORKFLOW_EXECUTION_PROCESS_NEEDS_ATTENTION, "at_most_once_interrupted", {}),
    ]


def test_a_remote_lookup_is_requested_and_its_finding_completes_the_step() -> None:
    state = running(attempt=2, idempotency=Idempotency.REMOTE_LOOKUP)
    asked = decide(state, LeaseExpired(0.0), NOW)
    assert records(asked) == [(A.WORKFLOW_EXECUTION_STEP_LOOKUP_REQUESTED, None, {"attempt": 2})]
    found = decide(state, LookupResult({"id": 9}, 0.0), NOW)
    assert of_type(found, RecordOutput) == [RecordOutput({"id": 9})]
    assert records(found) == [
        (
            A.WORKFLOW_EXECUTION_STEP_SKIPPED,
            "already_applied_remote",
            {"reason": "already_applied_remote", "attempt": 2},
        ),
        (A.WORKFLOW_EXECUTION_STEP_COMPLETED, None, {"attempt": 2}),
    ]


@pytest.mark.parametrize(
    ("state", "event", "expected"),
    [
        (
            running(execution_status=ExecutionStatus.CANCELED),
            AttemptSucceeded({}),
            (A.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "execution_terminal"),
        ),
        (
            running(step_status=StepStatus.PENDING),
            AttemptSucceeded({}),
            (A.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "stale_event"),
        ),
    ],
    ids=["execution-ended", "step-moved-on"],
)
def test_a_stale_event_is_recorded_with_what_was_dropped(
    state: Any, event: Any, expected: tuple[A, str]
) -> None:
    data = {
        "event": type(event).__name__,
        "execution_status": state.execution_status.value,
        "step_status": state.step_status.value,
    }
    assert records(decide(state, event, NOW)) == [(*expected, data)]


def test_a_lease_expiring_on_a_completed_step_is_recorded_as_already_completed() -> None:
    state = running(step_status=StepStatus.COMPLETED)
    assert records(decide(state, LeaseExpired(0.0), NOW)) == [
        (
            A.WORKFLOW_EXECUTION_STEP_SKIPPED,
            "already_completed",
            {
                "reason": "already_completed",
                "event": "LeaseExpired",
                "execution_status": "RUNNING",
                "step_status": "COMPLETED",
            },
        )
    ]


def test_a_skipped_first_step_starts_the_execution() -> None:
    state = running(execution_status=ExecutionStatus.PENDING, step_status=StepStatus.PENDING)
    assert records(decide(state, ConditionFalse(), NOW)) == [
        (A.WORKFLOW_EXECUTION_STEP_SKIPPED, "condition_false", {"reason": "condition_false"}),
        (A.WORKFLOW_EXECUTION_PROCESS_STARTED, None, {}),
    ]


class _NoOffset(tzinfo):
    """A time zone that does not know its offset: ``now`` is not really aware."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def test_now_must_know_its_offset() -> None:
    with pytest.raises(ValueError, match=r"^now must be timezone-aware$"):
        decide(running(), AttemptSucceeded({}), datetime(2030, 1, 1, tzinfo=_NoOffset()))


def test_marking_a_step_done_records_the_operators_output_and_reason() -> None:
    state = running(step_status=StepStatus.NEEDS_ATTENTION, is_last_step=True)
    state = replace(state, execution_status=ExecutionStatus.NEEDS_ATTENTION)
    decision = decide(state, OperatorMarkDone({"ticket": "T-1"}, "sent by hand"), NOW)
    assert of_type(decision, RecordOutput) == [RecordOutput({"ticket": "T-1"})]
    assert records(decision)[0] == (A.WORKFLOW_EXECUTION_STEP_MARKED_DONE, "sent by hand", {})
