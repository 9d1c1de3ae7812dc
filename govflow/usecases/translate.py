"""Turning the engine's pure decisions into the ports' values (and back)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from govflow.core.durations import parse_duration
from govflow.core.engine import (
    Audit,
    CompleteExecution,
    ContinueWithNextStep,
    CreateHumanTask,
    Decision,
    FailExecution,
    RecordOutput,
    ScheduleRetry,
    StepError,
)
from govflow.core.retry import Backoff, RetrySchedule
from govflow.core.spec import RetryPolicy
from govflow.usecases.audit import AuditEntry
from govflow.usecases.ports import ClaimedStep, StepFinish


@functools.lru_cache(maxsize=1024)
def retry_schedule(policy: RetryPolicy) -> RetrySchedule:
    """The schedule of a (frozen, hashable) policy; cached: every step attempt asks for one."""
    return RetrySchedule(
        max_attempts=policy.max_attempts,
        backoff=Backoff(policy.backoff),
        initial_delay=policy.initial_delay_delta,
        max_delay=max(policy.max_delay_delta, policy.initial_delay_delta),
        jitter=policy.jitter,
    )


def error_payload(error: StepError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message}


def human_task_row(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of a human task, from the ``manual`` action's payload."""
    assignee = payload.get("assignee") or {}
    reviewer = payload.get("reviewer") or {}
    due_in = payload.get("due_in")
    return {
        "title": str(payload.get("title") or "Task"),
        "description": str(payload.get("description") or ""),
        "assignee_role": assignee.get("role"),
        "reviewer_role": reviewer.get("role"),
        "form": payload.get("form") or {},
        "due_in_seconds": parse_duration(due_in).total_seconds() if due_in else None,
    }


def audit_entries(
    decision: Decision, claim: ClaimedStep, extra: Mapping[str, Any] | None = None
) -> list[AuditEntry]:
    entries = []
    for command in decision.commands:
        if not isinstance(command, Audit):
            continue
        step_level = command.event_name.value.startswith("WORKFLOW_EXECUTION_STEP_")
        entries.append(
            AuditEntry(
                action=command.event_name.value,
                entity_type="execution_step" if step_level else "execution",
                entity_id=str(claim.step_id if step_level else claim.execution_id),
                department_id=claim.department_id,
                reason=command.reason,
                metadata={
                    "execution_id": str(claim.execution_id),
                    "step": claim.step_key,
                    **{k: _jsonable(v) for k, v in command.data.items()},
                    **(extra or {}),
                },
            )
        )
    return entries


def _jsonable(value: object) -> object:
    if isinstance(value, UUID | datetime):
        return str(value)
    return value


def to_finish(
    decision: Decision,
    claim: ClaimedStep,
    now: datetime,
    *,
    outcome: str,
    continue_in_process: bool,
    attempt_error: StepError | None = None,
) -> StepFinish:
    """The one statement that carries ``decision`` out."""
    output: Mapping[str, Any] | None = None
    error: Mapping[str, Any] | None = error_payload(attempt_error) if attempt_error else None
    retry_in: timedelta | None = None
    human_task: Mapping[str, Any] | None = None
    go_on = False
    for command in decision.commands:
        match command:
            case RecordOutput(output=recorded):
                output = recorded
            case FailExecution(error=failed):
                error = error_payload(failed)
            case ScheduleRetry(at=at):
                retry_in = max(timedelta(0), at - now)
            case CreateHumanTask(payload=payload):
                human_task = human_task_row(payload)
            case ContinueWithNextStep():
                go_on = True
            case CompleteExecution():
                pass
    return StepFinish(
        step_status=decision.step_status.value,
        execution_status=decision.execution_status.value if decision.execution_status else None,
        outcome=outcome,
        output=output,
        error=error,
        retry_in=retry_in,
        claim_next=go_on and continue_in_process,
        release_next=go_on and not continue_in_process,
        human_task=human_task,
        wait_reason="human_task" if human_task is not None else None,
        audit=audit_entries(decision, claim),
    )
