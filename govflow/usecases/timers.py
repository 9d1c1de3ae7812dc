"""Durable timers: keeping a ``wait`` step's due time, and resuming the steps whose time came.

A ``wait`` step's action raises ``Suspend(reason="timer", payload={"due_at": ...})``; the worker
keeps the due time with the step (:meth:`TimerStore.open`, guarded by the fencing token) before
the finish moves it to ``WAITING``, so the step holds no worker while it waits. The state is
the wake-up: :func:`resume_timers`, run by every sweep, finds the waiting steps due at ``now``
and decides each with the engine (:func:`govflow.core.timers.timer_due_event` on the
``WAITING`` step), with the execution locked as a signal locks it, audited with the reason
``timer_due``; then the next step is woken. A sweeper killed or restarted while a timer is
pending loses nothing: the next sweep finds the step, and the lock makes one resume of it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from govflow.core.timers import TIMER_DUE, TIMER_WAIT, timer_due_event
from govflow.usecases.ports import ClaimedStep, StepQueue
from govflow.usecases.signals import SignalStore
from govflow.usecases.waiting_steps import resume_waiting_step

log = logging.getLogger("govflow.engine")


class DueTimer(msgspec.Struct, frozen=True, kw_only=True):
    """A step waiting on a timer that is due."""

    execution_id: UUID
    step_key: str
    due_at: datetime


class TimerStore(Protocol):
    async def open(self, claim: ClaimedStep, due_at: datetime) -> bool:
        """Keep ``due_at`` with the step about to wait on it; False: the claim's token is no
        longer current."""
        ...

    async def due(self, now: datetime, limit: int) -> Sequence[DueTimer]:
        """Steps waiting on a timer due at ``now``, the earliest first."""
        ...


async def resume_timers(
    timers: TimerStore,
    signals: SignalStore,
    queue: StepQueue,
    now: datetime,
    *,
    limit: int = 200,
) -> int:
    """Resume every waiting ``wait`` step due at ``now``; how many moved on."""
    resumed = 0
    for timer in await timers.due(now, limit):
        if await _resume(signals, queue, timer, now):
            resumed += 1
    return resumed


async def _resume(signals: SignalStore, queue: StepQueue, timer: DueTimer, now: datetime) -> bool:
    return await resume_waiting_step(
        signals,
        queue,
        execution_id=timer.execution_id,
        step_key=timer.step_key,
        wait_reason=TIMER_WAIT,
        event=timer_due_event(timer.due_at, now),
        reason=TIMER_DUE,
        now=now,
    )
