"""Ending a waiting timer early: ``POST /workflow-executions/{id}/steps/{key}/fire-timer``.

An operator (ADMIN, or a MANAGER of the execution's department) may end a ``wait`` step that
is ``WAITING`` on its timer before its due time. The engine decides it as the timer's end (the
event of :func:`govflow.core.timers.timer_fired_event`, an ``AttemptSucceeded`` on the
``WAITING`` step whose output says ``fired_early`` and ``fired_by``), with the execution locked
as the sweeper locks it to resume a timer: whichever of the two comes second finds the step no
longer waiting, so the timer ends exactly once. Audited ``WORKFLOW_EXECUTION_STEP_TIMER_FIRED``
with the operator's reason; then the next step is woken.

Refusals: another department's execution, or a step the workflow lacks, is ``NotFoundError``;
a step that is not a waiting timer (a timer already ended included) ``ConflictError``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.statuses import StepStatus
from govflow.core.timers import TIMER_FIRED, TIMER_WAIT, timer_fired_event
from govflow.usecases.audit import Actor, AuditEntry
from govflow.usecases.errors import ConflictError, NotFoundError
from govflow.usecases.operate import OperatorResult, waiting_step_change
from govflow.usecases.ports import StepQueue
from govflow.usecases.signals import SignalStore
from govflow.usecases.translate import STEP


async def fire_timer(
    store: SignalStore,
    queue: StepQueue,
    execution_id: UUID,
    step_key: str,
    *,
    actor: Actor,
    reason: str,
    department_scope: UUID | None,
    request_id: str | None = None,
    now: datetime | None = None,
) -> OperatorResult:
    """End the waiting timer of step ``step_key`` now (see the module docstring)."""
    moment = now or datetime.now(UTC)
    async with store.locked(execution_id, department_scope, step_key) as unit:
        if unit is None:
            raise NotFoundError("execution not found")
        snapshot = unit.snapshot
        found = [step for step in snapshot.steps if step.step_key == step_key]
        if not found:
            raise NotFoundError(f"execution {execution_id} has no step {step_key!r}")
        step = found[0]
        waiting = step.status is StepStatus.WAITING and unit.wait_reason == TIMER_WAIT
        if not waiting or unit.wake_at is None:
            raise ConflictError(f"step {step_key} is {step.status}: it is not a waiting timer")
        fired_by = actor.email or actor.name
        event = timer_fired_event(unit.wake_at, moment, fired_by)
        change = waiting_step_change(snapshot, step, event, actor, TIMER_FIRED, moment)
        fired = AuditEntry(
            action=AuditEvent.WORKFLOW_EXECUTION_STEP_TIMER_FIRED,
            actor=actor,
            entity_type=STEP,
            entity_id=str(step.step_id),
            department_id=snapshot.department_id,
            request_id=request_id,
            reason=reason,
            metadata={
                "execution_id": str(snapshot.execution_id),
                "step": step.step_key,
                "due_at": unit.wake_at.isoformat(),
                "fired_early": bool(event.output["fired_early"]),
            },
        )
        change = msgspec.structs.replace(change, audit=(fired, *change.audit))
        await unit.apply(change)
    woken = [c.step_id for c in change.steps if c.runnable_now]
    if woken:
        await queue.wake(woken)
    return OperatorResult(
        execution_id=execution_id,
        execution_status=change.execution_status or snapshot.status,
        woken=woken,
    )
