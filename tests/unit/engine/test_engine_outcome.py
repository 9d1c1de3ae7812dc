"""``execution_outcome`` and ``next_step_index`` over lists of step statuses; audit names."""

from __future__ import annotations

import pytest

from govflow.core.audit_events import AuditEvent, SkipReason
from govflow.core.engine import execution_outcome, next_step_index
from govflow.core.statuses import ExecutionStatus as X
from govflow.core.statuses import StepStatus as S

C, K, P, R, W, F, N, Z = (
    S.COMPLETED,
    S.SKIPPED,
    S.PENDING,
    S.RUNNING,
    S.WAITING,
    S.FAILED,
    S.NEEDS_ATTENTION,
    S.CANCELED,
)


@pytest.mark.parametrize(
    ("steps", "outcome", "next_index"),
    [
        ([], X.COMPLETED, None),
        ([C, K, C], X.COMPLETED, None),
        ([P, P], None, 0),
        ([C, P, P], None, 1),
        ([C, K, P], None, 2),
        ([C, R, P], None, None),
        ([C, W, P], X.WAITING, None),
        ([C, F, P], X.FAILED, None),
        ([C, N, P], X.NEEDS_ATTENTION, None),
        ([C, Z, Z], X.CANCELED, None),
        ([C, F, Z], X.CANCELED, None),
    ],
)
def test_outcome_and_next_step(steps: list[S], outcome: X | None, next_index: int | None) -> None:
    assert execution_outcome(steps) == outcome
    assert next_step_index(steps) == next_index


def test_audit_event_values_are_their_names() -> None:
    assert all(event.value == event.name for event in AuditEvent)


@pytest.mark.parametrize(
    "name",
    [
        "WORKFLOW_EXECUTION_CREATED",
        "WORKFLOW_EXECUTION_PROCESS_STARTED",
        "WORKFLOW_EXECUTION_PROCESS_COMPLETED",
        "WORKFLOW_EXECUTION_PROCESS_FAILED",
        "WORKFLOW_EXECUTION_PROCESS_TECHNICAL_FAILURE",
        "WORKFLOW_EXECUTION_PROCESS_SKIPPED",
        "WORKFLOW_EXECUTION_STEP_SKIPPED",
        "WORKFLOW_EXECUTION_RECOVERY_FAILED",
    ],
)
def test_the_seed_audit_names_are_kept(name: str) -> None:
    assert AuditEvent(name).value == name


def test_skip_reasons() -> None:
    assert {r.value for r in SkipReason} == {
        "condition_false",
        "already_completed",
        "already_applied_remote",
        "operator_skip",
    }
