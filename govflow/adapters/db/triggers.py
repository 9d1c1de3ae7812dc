"""The ``ScheduleStore`` port and the triggers' read side (the queries of ``sql/triggers.sql``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.queries import load_queries
from govflow.core.audit_events import AuditEvent
from govflow.core.trigger_spec import ScheduleTrigger, Triggers, WebhookTrigger
from govflow.usecases.schedule_triggers import ScheduledWorkflow
from govflow.usecases.trigger_views import ScheduleBookmark, TriggerEvent, WorkflowTriggers
from govflow.usecases.webhooks import WebhookTarget

QUERIES = load_queries("triggers.sql")
TRIGGER_EVENTS = [
    AuditEvent.TRIGGER_SCHEDULE_FIRED,
    AuditEvent.TRIGGER_SCHEDULE_MISSED,
    AuditEvent.TRIGGER_SCHEDULE_FAILED,
    AuditEvent.WEBHOOK_DELIVERY_ACCEPTED,
    AuditEvent.WEBHOOK_DELIVERY_REFUSED,
]


async def _fetch(pool: asyncpg.Pool, query_name: str, /, **values: Any) -> list[asyncpg.Record]:
    query = QUERIES[query_name]
    async with pool.acquire() as conn:
        rows: list[asyncpg.Record] = await conn.fetch(query.sql, *query.args(values))
    return rows


class PgScheduleStore:
    """The ``ScheduleStore`` port."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _fetch(self, query_name: str, /, **values: Any) -> list[asyncpg.Record]:
        return await _fetch(self._pool, query_name, **values)

    async def scheduled(self) -> Sequence[ScheduledWorkflow]:
        found = []
        for row in await self._fetch("scheduled_workflows"):
            try:
                trigger = msgspec.json.decode(row["schedule"], type=ScheduleTrigger)
            except msgspec.ValidationError:  # stored by a version of GovFlow that differs
                continue
            found.append(
                ScheduledWorkflow(
                    workflow_id=row["workflow_id"],
                    name=row["name"],
                    department_id=row["department_id"],
                    trigger=trigger,
                    entry=row["entry"],
                    last_slot=row["last_slot"],
                    last_fired_slot=row["last_fired_slot"],
                    last_execution_id=row["last_execution_id"],
                )
            )
        return found

    async def bookmark(self, workflow_id: UUID, slot: datetime, entry: int = 0) -> None:
        await self._fetch("bookmark_schedule", workflow_id=workflow_id, slot=slot, entry=entry)

    async def advance(
        self,
        workflow_id: UUID,
        previous: datetime,
        slot: datetime,
        fired: tuple[datetime, UUID] | None,
        entry: int = 0,
    ) -> bool:
        rows = await self._fetch(
            "advance_schedule",
            workflow_id=workflow_id,
            entry=entry,
            previous=previous,
            slot=slot,
            fired_slot=fired[0] if fired else None,
            execution_id=fired[1] if fired else None,
        )
        return bool(rows)


class PgWebhookCatalog:
    """The ``WebhookCatalog`` port."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def target(self, name: str) -> WebhookTarget | None:
        rows = await _fetch(self._pool, "webhook_target", name=name)
        if not rows:
            return None
        try:
            trigger = msgspec.json.decode(rows[0]["webhook"], type=WebhookTrigger)
        except msgspec.ValidationError:
            return None
        return WebhookTarget(
            workflow_id=rows[0]["workflow_id"],
            name=rows[0]["name"],
            department_id=rows[0]["department_id"],
            trigger=trigger,
        )


class PgTriggerReader:
    """The ``TriggerReader`` port: a workflow's triggers, bookmark and recent events."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def triggers(self, workflow_id: UUID, department: UUID | None) -> WorkflowTriggers | None:
        rows = await _fetch(
            self._pool, "workflow_triggers", workflow_id=workflow_id, department=department
        )
        if not rows:
            return None
        row = rows[0]
        text = row["triggers"]
        try:
            triggers = msgspec.json.decode(text, type=Triggers | None) if text else None
        except msgspec.ValidationError:
            triggers = None
        marks = await _fetch(self._pool, "schedule_state", workflow_id=workflow_id)
        return WorkflowTriggers(
            workflow_id=row["workflow_id"],
            name=row["name"],
            is_active=row["is_active"],
            triggers=triggers,
            bookmarks={
                mark["entry"]: ScheduleBookmark(
                    last_slot=mark["last_slot"],
                    last_fired_slot=mark["last_fired_slot"],
                    last_execution_id=mark["last_execution_id"],
                )
                for mark in marks
            },
        )

    async def recent_events(self, workflow_id: UUID, limit: int) -> list[TriggerEvent]:
        rows = await _fetch(
            self._pool,
            "recent_trigger_events",
            workflow_id=str(workflow_id),
            actions=[str(event) for event in TRIGGER_EVENTS],
            limit=limit,
        )
        return [
            TriggerEvent(
                action=row["action"],
                occurred_at=row["occurred_at"],
                metadata=msgspec.json.decode(row["metadata"]) if row["metadata"] else {},
            )
            for row in rows
        ]
