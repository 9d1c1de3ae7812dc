"""The deadline sweep of human tasks: mark the overdue ones, escalate them, notify.

Every sweeper round (``govflow scheduler``) calls :meth:`TaskSweep.sweep`. It reads a bounded
batch of tasks whose deadline passed and that are still to be marked or escalated, and for each
asks :func:`govflow.core.tasks.deadlines.decide_deadline`; the decision is written exactly as
a person's is (:func:`govflow.usecases.tasks.act_on_task`): only over the version it was decided
on, with its ``HUMAN_TASK_OVERDUE`` / ``HUMAN_TASK_ESCALATED`` audit records by the system and
its notices, in one transaction. Of two sweepers racing on a task one writes, the other finds
another version and moves on, so each task is marked and escalated once. Then the notices due
are sent (:class:`~govflow.usecases.task_notifications.TaskNotifier`) and the overdue gauge is
refreshed.

A ``manual`` step's task is opened by the worker's finish statement, which stores no notice:
the sweep stores the creation notices of the step tasks opened since, whose ``notify`` hears of
``created`` (:meth:`DeadlineStore.unannounced`), before sending what is due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.tasks.deadlines import decide_deadline
from govflow.core.tasks.decide import creation_notice
from govflow.core.tasks.model import RecordAudit, TaskDecision
from govflow.usecases.audit import SYSTEM
from govflow.usecases.errors import ConflictError
from govflow.usecases.task_notifications import TaskNotifier
from govflow.usecases.task_ports import TaskStore
from govflow.usecases.tasks import store_notices, task_audit, task_step_key

log = logging.getLogger("govflow.tasks.deadlines")


class DeadlineStore(Protocol):
    """The tasks the deadline sweep looks at."""

    async def due(self, limit: int) -> list[UUID]:
        """Up to ``limit`` tasks whose deadline passed, still to be marked or escalated."""
        ...

    async def overdue_open(self) -> int:
        """How many tasks are overdue and still to be decided."""
        ...

    async def unannounced(self, limit: int) -> list[UUID]:
        """Up to ``limit`` step tasks opened lately, not decided on since, whose ``notify``
        hears of ``created`` and whose creation notices are not stored yet."""
        ...


class DeadlineMetrics:
    """Does nothing; subclassed by the Prometheus adapter."""

    def deadline(self, event: AuditEvent) -> None:
        """A task was marked overdue (``HUMAN_TASK_OVERDUE``) or escalated."""

    def overdue_open(self, count: int) -> None:
        """``count`` tasks are overdue and still to be decided."""


class TaskSweepReport(msgspec.Struct, frozen=True, kw_only=True):
    overdue: int = 0
    escalated: int = 0
    notified: int = 0


@dataclass
class TaskSweep:
    """One round of the deadline sweep (see the module docstring)."""

    tasks: TaskStore
    deadlines: DeadlineStore
    notifier: TaskNotifier
    metrics: DeadlineMetrics = field(default_factory=DeadlineMetrics)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    batch: int = 100

    async def sweep(self) -> TaskSweepReport:
        """Mark and escalate the tasks due, send the notices due, refresh the gauge."""
        events: list[AuditEvent] = []
        for task_id in await self.deadlines.due(self.batch):
            events.extend(await self._decide(task_id))
        for event in events:
            self.metrics.deadline(event)
        for task_id in await self.deadlines.unannounced(self.batch):
            await self._announce(task_id)
        notified = await self.notifier.send_due()
        self.metrics.overdue_open(await self.deadlines.overdue_open())
        return TaskSweepReport(
            overdue=events.count(AuditEvent.HUMAN_TASK_OVERDUE),
            escalated=events.count(AuditEvent.HUMAN_TASK_ESCALATED),
            notified=notified,
        )

    async def _decide(self, task_id: UUID) -> list[AuditEvent]:
        """Decide task ``task_id``'s deadline and write it; the events written (none when
        another sweeper came first)."""
        try:
            async with self.tasks.deciding(task_id) as unit:
                if unit is None:
                    return []
                decision = decide_deadline(unit.task.state, self.clock())
                if decision is None:
                    return []
                audit = task_audit(unit.task, decision, SYSTEM, task_step_key(unit))
                await unit.write(decision.state, None, audit)
                await store_notices(self.tasks, unit, decision, unit.task.state)
        except ConflictError:
            log.info("task %s was decided by another sweeper", task_id)
            return []
        return [
            AuditEvent(command.event)
            for command in decision.commands
            if isinstance(command, RecordAudit)
        ]

    async def _announce(self, task_id: UUID) -> None:
        """Store the creation notices of step task ``task_id`` (kept once by their keys)."""
        async with self.tasks.deciding(task_id) as unit:
            if unit is None or unit.task.state.version != 1:
                return
            state = unit.task.state
            opened = TaskDecision(state=state, commands=(creation_notice(state),))
            await store_notices(self.tasks, unit, opened, state)
