"""Lost leases: every idempotency strategy at every crash point, and remote lookups."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from govflow.core.audit_events import AuditEvent as A
from govflow.core.engine import (
    AttemptSucceeded,
    Audit,
    CallLookup,
    Decision,
    FailExecution,
    LeaseExpired,
    LookupResult,
    RecordOutput,
    ScheduleRetry,
    StepState,
    decide,
)
from govflow.core.idempotency import Idempotency as I
from govflow.core.statuses import ExecutionStatus as X
from govflow.core.statuses import StepStatus as S

from .support import NOW, SCHEDULE, SECOND, audits, kinds, of_type, running

CRASH_POINTS: dict[str, dict[str, Any]] = {
    # The worker claimed the step, then died before committing the attempt start.
    "claimed_not_started": {"attempt_started": False},
    # The attempt start was committed: the plugin may have had its effect.
    "mid_attempt": {"attempt_started": True},
    # The step completed; the expiry of the old lease is reported late.
    "after_completion": {"step_status": S.COMPLETED},
    # The execution was canceled while the worker was away.
    "after_cancel": {"execution_status": X.CANCELED, "step_status": S.CANCELED},
}

# (crash point, strategy, attempts exhausted?) -> outcome; written out in full on purpose.
EXPECTED: dict[tuple[str, I, bool], str] = {}
for _strategy, _exhausted in itertools.product(I, (False, True)):
    EXPECTED["claimed_not_started", _strategy, _exhausted] = "fail" if _exhausted else "retry"
    EXPECTED["after_completion", _strategy, _exhausted] = "already_completed"
    EXPECTED["after_cancel", _strategy, _exhausted] = "reported"
EXPECTED |= {
    ("mid_attempt", I.NONE, False): "retry",
    ("mid_attempt", I.NONE, True): "fail",
    ("mid_attempt", I.LOCAL, False): "retry",
    ("mid_attempt", I.LOCAL, True): "fail",
    ("mid_attempt", I.REMOTE_KEY, False): "retry",
    ("mid_attempt", I.REMOTE_KEY, True): "fail",
    ("mid_attempt", I.REMOTE_LOOKUP, False): "lookup",
    ("mid_attempt", I.REMOTE_LOOKUP, True): "lookup",
    ("mid_attempt", I.AT_MOST_ONCE, False): "attention",
    ("mid_attempt", I.AT_MOST_ONCE, True): "attention",
}


def _case_order(case: tuple[str, I, bool]) -> tuple[str, str, bool]:
    return case[0], case[1].value, case[2]


CASES = sorted(EXPECTED, key=_case_order)


def outcome(state: StepState, decision: Decision) -> str:
    """Classify a decision, checking everything that goes with each class."""
    names = [name for name, _ in audits(decision)]
    if decision.step_status is S.PENDING:
        assert decision.execution_status is None
        assert kinds(decision) == ["ScheduleRetry"]
        assert A.WORKFLOW_EXECUTION_STEP_RECOVERED in names
        return "retry"
    if decision.step_status is S.FAILED:
        assert decision.execution_status is X.FAILED
        (failed,) = of_type(decision, FailExecution)
        assert failed.error.code == "LEASE_EXPIRED"
        assert names[0] is A.WORKFLOW_EXECUTION_RECOVERY_FAILED
        assert names[-1] is A.WORKFLOW_EXECUTION_PROCESS_FAILED
        return "fail"
    if decision.step_status is S.NEEDS_ATTENTION:
        assert decision.execution_status is X.NEEDS_ATTENTION
        assert kinds(decision) == []
        assert audits(decision)[0] == (
            A.WORKFLOW_EXECUTION_STEP_NEEDS_ATTENTION,
            "at_most_once_interrupted",
        )
        return "attention"
    assert decision.step_status is state.step_status
    assert decision.execution_status is None
    if of_type(decision, CallLookup):
        assert names == [A.WORKFLOW_EXECUTION_STEP_LOOKUP_REQUESTED]
        return "lookup"
    (only,) = audits(decision)
    if only == (A.WORKFLOW_EXECUTION_STEP_SKIPPED, "already_completed"):
        return "already_completed"
    assert only == (A.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "execution_terminal")
    return "reported"


@pytest.mark.parametrize(
    ("crash_point", "strategy", "exhausted"),
    CASES,
    ids=str,
)
def test_lease_expiry_follows_the_strategy_rule(
    crash_point: str, strategy: I, exhausted: bool
) -> None:
    state = running(
        idempotency=strategy,
        attempt=SCHEDULE.max_attempts if exhausted else 1,
        **CRASH_POINTS[crash_point],
    )
    decision = decide(state, LeaseExpired(rand=0.0), NOW)
    assert outcome(state, decision) == EXPECTED[crash_point, strategy, exhausted]


def test_expected_table_covers_every_strategy_and_crash_point() -> None:
    assert len(EXPECTED) == len(CRASH_POINTS) * len(I) * 2


def test_a_crash_interrupted_attempt_counts_toward_max_attempts() -> None:
    """A step that kills its worker every time fails after max_attempts claims."""
    for attempt in range(1, SCHEDULE.max_attempts):
        decision = decide(running(attempt=attempt), LeaseExpired(0.0), NOW)
        assert decision.step_status is S.PENDING
    state = running(attempt=SCHEDULE.max_attempts)
    assert decide(state, LeaseExpired(0.0), NOW).step_status is S.FAILED


def test_recovery_retry_waits_the_backoff() -> None:
    decision = decide(running(attempt=2), LeaseExpired(0.0), NOW)
    assert of_type(decision, ScheduleRetry) == [ScheduleRetry(NOW + 4 * SECOND)]
    recovered = [c for c in of_type(decision, Audit) if c.reason == "none"]
    assert [c.event_name for c in recovered] == [A.WORKFLOW_EXECUTION_STEP_RECOVERED]


def test_recovery_of_an_unstarted_attempt_says_so() -> None:
    state = running(attempt_started=False, idempotency=I.AT_MOST_ONCE)
    decision = decide(state, LeaseExpired(0.0), NOW)
    assert (A.WORKFLOW_EXECUTION_STEP_RECOVERED, "attempt_not_started") in audits(decision)


LOOKUP = running(idempotency=I.REMOTE_LOOKUP)


@pytest.mark.parametrize(("last", "execution"), [(False, None), (True, X.COMPLETED)])
def test_lookup_found_completes_with_the_remote_output(last: bool, execution: X | None) -> None:
    state = running(idempotency=I.REMOTE_LOOKUP, is_last_step=last)
    decision = decide(state, LookupResult({"comment_id": "10001"}, 0.0), NOW)
    assert (decision.step_status, decision.execution_status) == (S.COMPLETED, execution)
    assert of_type(decision, RecordOutput) == [RecordOutput({"comment_id": "10001"})]
    assert audits(decision)[:2] == [
        (A.WORKFLOW_EXECUTION_STEP_SKIPPED, "already_applied_remote"),
        (A.WORKFLOW_EXECUTION_STEP_COMPLETED, None),
    ]
    skipped = of_type(decision, Audit)[0]
    assert skipped.data["reason"] == "already_applied_remote"


def test_lookup_not_found_reruns_with_backoff() -> None:
    decision = decide(LOOKUP, LookupResult(None, 0.0), NOW)
    assert (decision.step_status, decision.execution_status) == (S.PENDING, None)
    assert of_type(decision, ScheduleRetry) == [ScheduleRetry(NOW + 2 * SECOND)]


def test_lookup_not_found_on_the_last_attempt_fails() -> None:
    state = running(idempotency=I.REMOTE_LOOKUP, attempt=SCHEDULE.max_attempts)
    decision = decide(state, LookupResult(None, 0.0), NOW)
    assert (decision.step_status, decision.execution_status) == (S.FAILED, X.FAILED)
    assert audits(decision)[0] == (A.WORKFLOW_EXECUTION_RECOVERY_FAILED, "attempts_exhausted")


def test_lookup_found_still_completes_on_the_last_attempt() -> None:
    state = running(idempotency=I.REMOTE_LOOKUP, attempt=SCHEDULE.max_attempts)
    decision = decide(state, LookupResult({}, 0.0), NOW)
    assert decision.step_status is S.COMPLETED


@pytest.mark.parametrize("strategy", [s for s in I if s is not I.REMOTE_LOOKUP])
def test_lookup_result_only_makes_sense_for_remote_lookup(strategy: I) -> None:
    with pytest.raises(ValueError, match="lookup"):
        decide(running(idempotency=strategy), LookupResult(None, 0.0), NOW)


def test_late_result_of_a_recovered_attempt_is_reported_not_applied() -> None:
    """A zombie worker reports after recovery put the step back to PENDING."""
    recovered = decide(running(), LeaseExpired(0.0), NOW)
    state = running(step_status=recovered.step_status)
    decision = decide(state, AttemptSucceeded({"late": True}), NOW)
    assert (decision.step_status, decision.execution_status) == (S.PENDING, None)
    assert audits(decision) == [(A.WORKFLOW_EXECUTION_PROCESS_SKIPPED, "stale_event")]
