"""A workflow's triggers as the API and the console show them: each trigger, its last and next
fire, and the recent events (slots fired, missed or failed; deliveries accepted or refused)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.trigger_spec import CatchUp, Triggers
from govflow.core.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from govflow.usecases.errors import NotFoundError
from govflow.usecases.schedule_triggers import upcoming

RECENT = 20
"""How many recent events a workflow's triggers show."""


class ScheduleBookmark(msgspec.Struct, frozen=True, kw_only=True):
    """The newest slot a schedule entry handled, and the newest that started an execution."""

    last_slot: datetime | None = None
    last_fired_slot: datetime | None = None
    last_execution_id: UUID | None = None


class WorkflowTriggers(msgspec.Struct, frozen=True, kw_only=True):
    """What the database holds about a workflow's triggers."""

    workflow_id: UUID
    name: str
    is_active: bool
    triggers: Triggers | None
    bookmarks: Mapping[int, ScheduleBookmark] = msgspec.field(default_factory=dict)
    """Each schedule entry's bookmark, by entry (0 for the single-entry form)."""


class TriggerEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One audited trigger event."""

    action: str
    occurred_at: datetime
    metadata: Mapping[str, Any]


class TriggerReader(Protocol):
    async def triggers(
        self, workflow_id: UUID, department: UUID | None
    ) -> WorkflowTriggers | None: ...

    async def recent_events(self, workflow_id: UUID, limit: int) -> list[TriggerEvent]: ...


class ScheduleView(msgspec.Struct, frozen=True, kw_only=True):
    entry: int | None
    """Its index in the list of schedules (``None``: the single-entry form)."""
    cron: str
    timezone: str
    catch_up: CatchUp
    inputs: Mapping[str, Any]
    last_fired_slot: datetime | None
    """The newest slot that started an execution."""
    last_execution_id: UUID | None
    next_fire: datetime | None
    """The next slot (``None``: the workflow is deactivated, or the cron names no more)."""


class WebhookView(msgspec.Struct, frozen=True, kw_only=True):
    url_path: str
    """``POST`` deliveries here."""
    secret: str
    """The secret's name (never its value)."""
    secret_configured: bool
    inputs: Mapping[str, str] | None
    headers: tuple[str, ...] = (DELIVERY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)


class EventView(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["schedule", "webhook"]
    action: str
    occurred_at: datetime
    entry: int | None = None
    """The schedule entry (of a list of schedules) the event is about."""
    slot: str | None = None
    delivery: str | None = None
    execution_id: str | None = None
    detail: str | None = None
    """How many slots were missed, or why a delivery or a slot was refused."""


class TriggersView(msgspec.Struct, frozen=True, kw_only=True):
    workflow_id: UUID
    name: str
    schedule: ScheduleView | None
    """The first (or only) schedule."""
    schedules: list[ScheduleView]
    """Every schedule entry, in the file's order."""
    webhook: WebhookView | None
    recent: list[EventView]


async def workflow_triggers(
    reader: TriggerReader,
    workflow_id: UUID,
    department: UUID | None,
    *,
    now: datetime,
    secret_known: Callable[[str], bool],
) -> TriggersView:
    """The triggers of ``workflow_id`` as seen from ``department`` (``None``: every one).

    :raises NotFoundError: no such workflow in the caller's scope.
    """
    found = await reader.triggers(workflow_id, department)
    if found is None:
        raise NotFoundError(f"workflow {workflow_id} not found")
    triggers = found.triggers or Triggers()
    webhook = None
    schedules = []
    for entry, s in triggers.schedules():
        mark = found.bookmarks.get(entry or 0, ScheduleBookmark())
        schedules.append(
            ScheduleView(
                entry=entry,
                cron=s.cron,
                timezone=s.timezone,
                catch_up=s.catch_up,
                inputs=s.inputs,
                last_fired_slot=mark.last_fired_slot,
                last_execution_id=mark.last_execution_id,
                next_fire=upcoming(s, max(now, mark.last_slot or now)) if found.is_active else None,
            )
        )
    schedule = schedules[0] if schedules else None
    if triggers.webhook is not None:
        w = triggers.webhook
        webhook = WebhookView(
            url_path=f"/webhooks/{found.name}",
            secret=w.secret,
            secret_configured=secret_known(w.secret),
            inputs=w.inputs,
        )
    events = await reader.recent_events(workflow_id, RECENT) if schedule or webhook else []
    return TriggersView(
        workflow_id=found.workflow_id,
        name=found.name,
        schedule=schedule,
        schedules=schedules,
        webhook=webhook,
        recent=[_event(e) for e in events],
    )


_WEBHOOK_EVENTS = frozenset(
    {AuditEvent.WEBHOOK_DELIVERY_ACCEPTED, AuditEvent.WEBHOOK_DELIVERY_REFUSED}
)


def _event(event: TriggerEvent) -> EventView:
    data = event.metadata
    detail = None
    if "count" in data:
        detail = f"{data['count']} slot(s) missed"
    elif "code" in data:
        detail = str(data["code"])
    elif isinstance(data.get("error"), dict):
        detail = str(data["error"].get("code"))
    entry = data.get("entry")
    return EventView(
        kind="webhook" if event.action in _WEBHOOK_EVENTS else "schedule",
        entry=entry if isinstance(entry, int) else None,
        action=event.action,
        occurred_at=event.occurred_at,
        slot=_text(data.get("slot")),
        delivery=_text(data.get("delivery")),
        execution_id=_text(data.get("execution_id")),
        detail=detail,
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
