"""Small builders shared by the engine's decision tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from govflow.core.audit_events import AuditEvent
from govflow.core.engine import (
    ActionUnavailable,
    AttemptFailedBusiness,
    AttemptFailedTechnical,
    AttemptOutcomeUnknown,
    AttemptSucceeded,
    AttemptSuspended,
    Audit,
    CancelRequested,
    ConditionFalse,
    Decision,
    Event,
    LeaseExpired,
    LookupResult,
    OperatorMarkDone,
    OperatorRetry,
    OperatorSkip,
    StepClaimed,
    StepError,
    StepState,
)
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


def every_event(refused: StepError, *more_suspensions: AttemptSuspended) -> list[Event]:
    """One event of each kind a step may meet (both outcomes of the lookups and of an
    unavailable action), the business failure with ``refused``."""
    return [
        StepClaimed(),
        ConditionFalse(),
        AttemptSucceeded({"ok": True}),
        AttemptFailedBusiness(refused),
        AttemptFailedTechnical(BOOM, 0.5),
        AttemptOutcomeUnknown(BOOM, 0.5),
        AttemptSuspended({"title": "Review"}),
        *more_suspensions,
        ActionUnavailable("jira_comment", handbacks=59, offered_elsewhere=False),
        ActionUnavailable("jira_comment", handbacks=0, offered_elsewhere=True),
        LeaseExpired(0.5),
        LookupResult(None, 0.5),
        LookupResult({"found": 1}, 0.5),
        CancelRequested("stop"),
        OperatorRetry("again"),
        OperatorSkip("not needed"),
        OperatorMarkDone({"done": True}, "done by hand"),
    ]


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
