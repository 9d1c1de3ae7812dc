"""Operator actions on executions: cancel, retry from the failed step, resolve a step that
needs attention. Each is decided by the pure engine, applied in one transaction with the
execution locked, and audited with the actor and the reason. History is never rewritten:
every attempt stays recorded.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

import msgspec

from govflow.core.engine import (
    CancelRequested,
    CompleteExecution,
    ContinueWithNextStep,
    Decision,
    Event,
    OperatorMarkDone,
    OperatorRetry,
    OperatorSkip,
    RecordOutput,
    ResetAttempts,
    StepState,
    decide,
)
from govflow.core.idempotency import Idempotency
from govflow.core.machines import IllegalTransition
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.usecases.audit import Actor, AuditEntry
from govflow.usecases.errors import ConflictError, NotFoundError
from govflow.usecases.ports import StepQueue


class StepSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    step_id: UUID
    position: int
    step_key: str
    status: str
    attempt: int
    attempt_started: bool
    idempotency: str | None


class ExecutionSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    execution_id: UUID
    status: str
    department_id: UUID | None
    steps: list[StepSnapshot]


class StepChange(msgspec.Struct, frozen=True, kw_only=True):
    step_id: UUID
    status: str
    output: Mapping[str, Any] | None = None
    reset_attempts: bool = False
    runnable_now: bool = False
    cancel_human_task: bool = False


class LockedExecution(Protocol):
    snapshot: ExecutionSnapshot

    async def apply(
        self,
        changes: Sequence[StepChange],
        execution_status: str | None,
        audit: Sequence[AuditEntry],
    ) -> None: ...


class ExecutionControl(Protocol):
    def locked(
        self, execution_id: UUID, department_scope: UUID | None
    ) -> contextlib.AbstractAsyncContextManager[LockedExecution | None]: ...


class Resolution(StrEnum):
    RETRY = "retry"
    SKIP = "skip"
    MARK_DONE = "mark_done"


class OperatorResult(msgspec.Struct, frozen=True, kw_only=True):
    execution_id: UUID
    execution_status: str
    woken: list[UUID] = msgspec.field(default_factory=list)


def _state(snapshot: ExecutionSnapshot, step: StepSnapshot) -> StepState:
    return StepState(
        execution_status=ExecutionStatus(snapshot.status),
        step_status=StepStatus(step.status),
        attempt=step.attempt,
        idempotency=Idempotency(step.idempotency or Idempotency.NONE),
        attempt_started=step.attempt_started,
        is_last_step=step.position == len(snapshot.steps) - 1,
    )


def _audit(
    decision: Decision, snapshot: ExecutionSnapshot, step: StepSnapshot, actor: Actor, reason: str
) -> list[AuditEntry]:
    from govflow.core.engine import Audit

    entries = []
    for command in decision.commands:
        if isinstance(command, Audit):
            step_level = command.event_name.value.startswith("WORKFLOW_EXECUTION_STEP_")
            entries.append(
                AuditEntry(
                    action=command.event_name.value,
                    actor=actor,
                    entity_type="execution_step" if step_level else "execution",
                    entity_id=str(step.step_id if step_level else snapshot.execution_id),
                    department_id=snapshot.department_id,
                    reason=reason or command.reason,
                    metadata={
                        "execution_id": str(snapshot.execution_id),
                        "step": step.step_key,
                        **{k: str(v) for k, v in command.data.items()},
                    },
                )
            )
    return entries


@contextlib.asynccontextmanager
async def _locked(
    control: ExecutionControl, execution_id: UUID, scope: UUID | None
) -> AsyncIterator[LockedExecution]:
    async with control.locked(execution_id, scope) as locked:
        if locked is None:
            raise NotFoundError(f"execution {execution_id} not found")
        yield locked


def _decide(state: StepState, event: Event) -> Decision:
    try:
        return decide(state, event, datetime.now(UTC))
    except IllegalTransition as exc:
        raise ConflictError(str(exc)) from None


async def cancel_execution(
    control: ExecutionControl,
    execution_id: UUID,
    *,
    actor: Actor,
    reason: str = "",
    department_scope: UUID | None = None,
) -> OperatorResult:
    """Cancel an execution that has not ended; its unfinished steps are canceled with it."""
    async with _locked(control, execution_id, department_scope) as locked:
        snapshot = locked.snapshot
        if ExecutionStatus(snapshot.status) in ExecutionStatus.TERMINAL:
            raise ConflictError(f"execution is {snapshot.status}: it cannot be canceled")
        open_steps = [s for s in snapshot.steps if StepStatus(s.status) not in StepStatus.DONE]
        current = open_steps[0] if open_steps else snapshot.steps[-1]
        decision = _decide(_state(snapshot, current), CancelRequested(reason))
        changes = [
            StepChange(
                step_id=step.step_id,
                status=StepStatus.CANCELED.value,
                cancel_human_task=step.status == StepStatus.WAITING.value,
            )
            for step in open_steps
            if StepStatus(step.status) in {*StepStatus.ACTIVE, StepStatus.NEEDS_ATTENTION}
        ]
        await locked.apply(
            changes,
            decision.execution_status.value if decision.execution_status else None,
            _audit(decision, snapshot, current, actor, reason),
        )
        return OperatorResult(execution_id=execution_id, execution_status="CANCELED")


async def retry_execution(
    control: ExecutionControl,
    queue: StepQueue,
    execution_id: UUID,
    *,
    actor: Actor,
    reason: str = "",
    department_scope: UUID | None = None,
) -> OperatorResult:
    """Run a failed execution again from its failed step, with a fresh attempt budget."""
    async with _locked(control, execution_id, department_scope) as locked:
        snapshot = locked.snapshot
        failed = [s for s in snapshot.steps if s.status == StepStatus.FAILED.value]
        if snapshot.status != ExecutionStatus.FAILED.value or not failed:
            raise ConflictError(f"execution is {snapshot.status}: only a FAILED one can be retried")
        step = failed[0]
        decision = _decide(_state(snapshot, step), OperatorRetry(reason))
        await locked.apply(
            [_change(step, decision)],
            decision.execution_status.value if decision.execution_status else None,
            _audit(decision, snapshot, step, actor, reason),
        )
    await queue.wake([step.step_id])
    return OperatorResult(
        execution_id=execution_id, execution_status="RUNNING", woken=[step.step_id]
    )


async def resolve_step(
    control: ExecutionControl,
    queue: StepQueue,
    execution_id: UUID,
    step_key: str,
    resolution: Resolution,
    *,
    actor: Actor,
    reason: str,
    output: Mapping[str, Any] | None = None,
    department_scope: UUID | None = None,
) -> OperatorResult:
    """Resolve a step in NEEDS_ATTENTION: run it again, skip it, or mark it done."""
    async with _locked(control, execution_id, department_scope) as locked:
        snapshot = locked.snapshot
        steps = [s for s in snapshot.steps if s.step_key == step_key]
        if not steps:
            raise NotFoundError(f"execution {execution_id} has no step {step_key!r}")
        step = steps[0]
        if step.status != StepStatus.NEEDS_ATTENTION.value:
            raise ConflictError(f"step {step_key} is {step.status}, not NEEDS_ATTENTION")
        event: Event
        match resolution:
            case Resolution.RETRY:
                event = OperatorRetry(reason)
            case Resolution.SKIP:
                event = OperatorSkip(reason)
            case Resolution.MARK_DONE:
                event = OperatorMarkDone(dict(output or {}), reason)
        decision = _decide(_state(snapshot, step), event)
        changes = [_change(step, decision)]
        woken = [step.step_id] if resolution is Resolution.RETRY else []
        if any(isinstance(c, ContinueWithNextStep) for c in decision.commands):
            following = snapshot.steps[step.position + 1]
            changes.append(
                StepChange(step_id=following.step_id, status=following.status, runnable_now=True)
            )
            woken = [following.step_id]
        status = decision.execution_status.value if decision.execution_status else None
        if any(isinstance(c, CompleteExecution) for c in decision.commands):
            status = ExecutionStatus.COMPLETED.value
        await locked.apply(changes, status, _audit(decision, snapshot, step, actor, reason))
    if woken:
        await queue.wake(woken)
    return OperatorResult(
        execution_id=execution_id, execution_status=status or snapshot.status, woken=woken
    )


def _change(step: StepSnapshot, decision: Decision) -> StepChange:
    output = next((c.output for c in decision.commands if isinstance(c, RecordOutput)), None)
    return StepChange(
        step_id=step.step_id,
        status=decision.step_status.value,
        output=output,
        reset_attempts=any(isinstance(c, ResetAttempts) for c in decision.commands),
        runnable_now=decision.step_status is StepStatus.PENDING,
    )
