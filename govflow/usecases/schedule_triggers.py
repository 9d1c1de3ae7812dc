"""Firing schedule triggers: each scheduler, every tick, starts the executions of the slots due.

For each active workflow whose current version has a ``schedule``, the pure
:func:`~govflow.core.schedule.plan` says, from the workflow's bookmark (the newest slot
handled) and ``now``, which slots fire and which the catch-up policy skips. Each slot fired
starts an execution through the ordinary start use case with the idempotency key
``schedule:<workflow id>:<slot>`` (``schedule:<workflow id>:<entry>:<slot>`` for an entry
of a list of schedules, each entry with its own bookmark): the unique key makes a slot start
at most one execution however many schedulers fire it at once, in the statement that creates
the execution. Then the bookmark moves (compare-and-set: the scheduler that moves it audits
the skipped slots). A scheduler that dies before moving it leaves the slots to the next tick
of any scheduler: none is lost, none runs twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.schedule import ScheduleError, next_slot, plan
from govflow.core.trigger_spec import ScheduleTrigger
from govflow.usecases.audit import AuditEntry
from govflow.usecases.errors import UseCaseError
from govflow.usecases.start_execution import StartRequest, StartResult

log = logging.getLogger("govflow.triggers")


class ScheduledWorkflow(msgspec.Struct, frozen=True, kw_only=True):
    """An active workflow with a schedule, and its bookmark."""

    workflow_id: UUID
    name: str
    trigger: ScheduleTrigger
    entry: int | None = None
    """Its index in a list of schedules (``None``: the single-entry form)."""
    department_id: UUID | None = None
    last_slot: datetime | None = None
    """The newest slot handled (``None``: the schedule was never seen)."""
    last_fired_slot: datetime | None = None
    last_execution_id: UUID | None = None


class ScheduleStore(Protocol):
    async def scheduled(self) -> Sequence[ScheduledWorkflow]:
        """The active workflows whose current version has a schedule."""
        ...

    async def bookmark(self, workflow_id: UUID, slot: datetime, entry: int = 0) -> None:
        """Remember ``slot`` as handled by schedule ``entry``, unless it has a bookmark
        already."""
        ...

    async def advance(
        self,
        workflow_id: UUID,
        previous: datetime,
        slot: datetime,
        fired: tuple[datetime, UUID] | None,
        entry: int = 0,
    ) -> bool:
        """Move the bookmark of schedule ``entry`` from ``previous`` to ``slot`` (and the last
        fired slot and its execution); ``False`` when another scheduler moved it first."""
        ...


class ScheduleReport(msgspec.Struct, frozen=True, kw_only=True):
    fired: int = 0
    """Executions this scheduler started."""
    taken: int = 0
    """Slots another scheduler had started already."""
    missed: int = 0
    failed: int = 0


def slot_key(workflow_id: UUID, slot: datetime, entry: int | None = None) -> str:
    """The idempotency key of a slot's execution: with the entry's index for an entry of a
    list of schedules."""
    if entry is None:
        return f"schedule:{workflow_id}:{slot.isoformat()}"
    return f"schedule:{workflow_id}:{entry}:{slot.isoformat()}"


class ScheduleFirer:
    """Starts the executions of the due slots (see the module docstring).

    :param start: the start use case (with its queue and stores).
    :param audit: appends audit entries in a transaction of their own.
    """

    def __init__(
        self,
        store: ScheduleStore,
        start: Callable[[StartRequest], Awaitable[StartResult]],
        audit: Callable[[list[AuditEntry]], Awaitable[None]],
    ) -> None:
        self._store = store
        self._start = start
        self._audit = audit

    async def fire_once(self, now: datetime) -> ScheduleReport:
        """One tick at ``now``: every scheduled workflow's due slots."""
        totals = ScheduleReport()
        for workflow in await self._store.scheduled():
            report = await self._fire(workflow, now)
            totals = ScheduleReport(
                fired=totals.fired + report.fired,
                taken=totals.taken + report.taken,
                missed=totals.missed + report.missed,
                failed=totals.failed + report.failed,
            )
        return totals

    async def _fire(self, workflow: ScheduledWorkflow, now: datetime) -> ScheduleReport:
        if workflow.last_slot is None:
            await self._store.bookmark(workflow.workflow_id, now, workflow.entry or 0)
            return ScheduleReport()
        try:
            due = plan(workflow.trigger, workflow.last_slot, now)
        except ScheduleError as error:  # a time zone gone from this machine's database
            log.error("schedule of %s cannot be read: %s", workflow.name, error)
            return ScheduleReport(failed=1)
        fired = taken = failed = 0
        newest: tuple[datetime, UUID] | None = None
        entries: list[AuditEntry] = []
        for slot in due.fire:
            try:
                result = await self._start(
                    StartRequest(
                        workflow=workflow.workflow_id,
                        inputs=workflow.trigger.inputs,
                        idempotency_key=slot_key(workflow.workflow_id, slot, workflow.entry),
                    )
                )
            except UseCaseError as error:
                failed += 1
                entries.append(_entry(workflow, AuditEvent.TRIGGER_SCHEDULE_FAILED, slot, error))
                continue
            newest = (slot, result.execution_id)
            if result.created:
                fired += 1
                entries.append(
                    _entry(workflow, AuditEvent.TRIGGER_SCHEDULE_FIRED, slot, result.execution_id)
                )
            else:
                taken += 1
        moved = due.last == workflow.last_slot or await self._store.advance(
            workflow.workflow_id, workflow.last_slot, due.last, newest, workflow.entry or 0
        )
        if moved and due.missed_count:
            entries.append(
                AuditEntry(
                    action=AuditEvent.TRIGGER_SCHEDULE_MISSED,
                    entity_type="workflow",
                    entity_id=str(workflow.workflow_id),
                    department_id=workflow.department_id,
                    metadata={
                        "trigger": "schedule",
                        **_entry_of(workflow),
                        "count": due.missed_count,
                        "first": due.missed[0].isoformat() if due.missed else None,
                        "last": due.missed[-1].isoformat() if due.missed else None,
                        "catch_up": workflow.trigger.catch_up,
                    },
                )
            )
        if entries:
            await self._audit(entries)
        return ScheduleReport(
            fired=fired, taken=taken, failed=failed, missed=due.missed_count if moved else 0
        )


def _entry(
    workflow: ScheduledWorkflow, event: AuditEvent, slot: datetime, outcome: UUID | UseCaseError
) -> AuditEntry:
    metadata: dict[str, object] = {
        "trigger": "schedule",
        **_entry_of(workflow),
        "slot": slot.isoformat(),
    }
    if isinstance(outcome, UUID):
        metadata["execution_id"] = str(outcome)
    else:
        metadata["error"] = {"code": outcome.code, "message": str(outcome)}
    return AuditEntry(
        action=event,
        entity_type="workflow",
        entity_id=str(workflow.workflow_id),
        department_id=workflow.department_id,
        reason=None if isinstance(outcome, UUID) else str(outcome),
        metadata=metadata,
    )


def _entry_of(workflow: ScheduledWorkflow) -> dict[str, object]:
    """The entry of a list of schedules an audit entry is about (nothing for the single form)."""
    return {} if workflow.entry is None else {"entry": workflow.entry}


def upcoming(trigger: ScheduleTrigger, now: datetime) -> datetime | None:
    """When the schedule fires next after ``now`` (``None``: unreadable or never)."""
    try:
        return next_slot(trigger, now)
    except ScheduleError:
        return None
