"""A claim that comes while the execution waits for a person is dropped and says what it met."""

from __future__ import annotations

import pytest

from govflow.core.audit_events import AuditEvent
from govflow.core.engine import Audit, StepClaimed, decide
from govflow.core.statuses import ExecutionStatus, StepStatus

from .support import NOW, running


@pytest.mark.parametrize("execution", [ExecutionStatus.WAITING, ExecutionStatus.NEEDS_ATTENTION])
def test_a_claim_while_the_execution_waits_is_recorded_with_what_it_met(
    execution: ExecutionStatus,
) -> None:
    state = running(execution_status=execution, step_status=StepStatus.PENDING)
    decision = decide(state, StepClaimed(), NOW)
    assert decision.commands == (
        Audit(
            AuditEvent.WORKFLOW_EXECUTION_PROCESS_SKIPPED,
            "stale_event",
            {
                "event": "StepClaimed",
                "execution_status": execution.value,
                "step_status": StepStatus.PENDING.value,
            },
        ),
    )
