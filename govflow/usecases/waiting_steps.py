"""A waiting step decided from outside by the system: a timer come due, a child execution ended."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from govflow.core.engine import Event
from govflow.core.statuses import StepStatus
from govflow.usecases.audit import SYSTEM
from govflow.usecases.errors import ConflictError
from govflow.usecases.operate import waiting_step_change
from govflow.usecases.ports import StepQueue
from govflow.usecases.signals import SignalStore


async def resume_waiting_step(
    signals: SignalStore,
    queue: StepQueue,
    *,
    execution_id: UUID,
    step_key: str,
    wait_reason: str,
    event: Event,
    reason: str,
    now: datetime,
) -> bool:
    """Decide ``event`` for step ``step_key`` of ``execution_id`` while it is ``WAITING`` for
    ``wait_reason``, with the execution locked as a signal locks it, audited as the system with
    ``reason``; then wake the steps the decision made runnable.

    :returns: False when the step no longer waits so: another process decided it first.
    """
    try:
        async with signals.locked(execution_id, None, step_key) as unit:
            if unit is None or unit.wait_reason != wait_reason:
                return False
            found = [s for s in unit.snapshot.steps if s.step_key == step_key]
            if not found or found[0].status is not StepStatus.WAITING:
                return False
            change = waiting_step_change(unit.snapshot, found[0], event, SYSTEM, reason, now)
            await unit.apply(change)
    except ConflictError:  # another sweeper, a cancel or a timeout decided it first
        return False
    woken = [c.step_id for c in change.steps if c.runnable_now]
    if woken:
        await queue.wake(woken)
    return True
