"""Small builders shared by the engine's decision tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from govflow.core.audit_events import AuditEvent
from govflow.core.engine import Audit, Decision, StepError, StepState
from govflow.core.idempotency import Idempotency
from govflow.core.retry import RetrySchedule
from govflow.core.statuses import ExecutionStatus, StepStatus

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
SECOND = timedelta(seconds=1)
SCHEDULE = RetrySchedule(
    max_attempts=3, initial_delay=2 * SECOND, max_delay=30 * SECOND, jitter=False
)
BOOM = StepError("TIMEOUT", "the remote side did not answer in 10s")

T = TypeVar("T")


def running(**overrides: Any) -> StepState:
    """A step mid-attempt 1 of 3 of a running execution, attempt start committed."""
    base = StepState(
        execution_status=ExecutionStatus.RUNNING,
        step_status=StepStatus.RUNNING,
        attempt=1,
        idempotency=Idempotency.NONE,
        retry=SCHEDULE,
        attempt_started=True,
        is_last_step=False,
    )
    return replace(base, **overrides)


def audits(decision: Decision) -> list[tuple[AuditEvent, str | None]]:
    """The audit records of a decision, as (name, reason) in order."""
    return [(c.event_name, c.reason) for c in decision.commands if isinstance(c, Audit)]


def of_type(decision: Decision, kind: type[T]) -> list[T]:
    """The commands of one kind, in order."""
    return [c for c in decision.commands if isinstance(c, kind)]


def kinds(decision: Decision) -> list[str]:
    """The command class names, audits left out."""
    return [type(c).__name__ for c in decision.commands if not isinstance(c, Audit)]
