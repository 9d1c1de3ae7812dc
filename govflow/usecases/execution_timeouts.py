"""Workflow timeouts: the sweeper fails the executions that ran past their deadline.

An execution of a workflow with ``timeout:`` gets a deadline when it is created (its creation
plus the timeout). Each sweep takes the active executions past it and, for each one, locks it
with its steps, asks the pure engine (:func:`~govflow.core.engine.decide_timeout`) and applies
the decision in the same transaction: the execution ``FAILED`` with ``EXECUTION_TIMED_OUT``, its
unfinished steps canceled as an operator's cancel cancels them (a waiting step's human task
too), its failure handlers (if any) made due for the workers, as the sweep's resend wakes them.
An execution that ended meanwhile is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

import msgspec

from govflow.core.engine import TIMED_OUT_REASON, decide_timeout
from govflow.core.machines import IllegalTransition
from govflow.usecases.audit import SYSTEM
from govflow.usecases.operate import ExecutionControl, execution_change, handlers_position


class OverdueExecution(msgspec.Struct, frozen=True, kw_only=True):
    """An active execution past its deadline, and the timeout that set it."""

    execution_id: UUID
    timeout: timedelta


class ExecutionDeadlines(Protocol):
    async def past_deadline(self, limit: int) -> Sequence[OverdueExecution]:
        """Up to ``limit`` active executions whose deadline has passed, oldest deadline first."""
        ...


async def time_out_executions(
    deadlines: ExecutionDeadlines, control: ExecutionControl, now: datetime, limit: int = 100
) -> int:
    """Fail every active execution past its deadline (up to ``limit``); how many were."""
    timed_out = 0
    for overdue in await deadlines.past_deadline(limit):
        async with control.locked(overdue.execution_id, None) as locked:
            if locked is None:
                continue
            snapshot = locked.snapshot
            try:
                decision = decide_timeout(
                    snapshot.status,
                    [s.status for s in snapshot.steps],
                    overdue.timeout,
                    now,
                    handlers_position(snapshot),
                )
            except IllegalTransition:
                continue  # it ended since it was found
            await locked.apply(execution_change(snapshot, decision, SYSTEM, TIMED_OUT_REASON))
            timed_out += 1
    return timed_out
