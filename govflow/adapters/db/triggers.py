"""The ``ScheduleStore`` port and the triggers' read side (the queries of ``sql/triggers.sql``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.queries import load_queries
from govflow.core.trigger_spec import ScheduleTrigger
from govflow.usecases.schedule_triggers import ScheduledWorkflow

QUERIES = load_queries("triggers.sql")


class PgScheduleStore:
    """The ``ScheduleStore`` port."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _fetch(self, query_name: str, /, **values: Any) -> list[asyncpg.Record]:
        query = QUERIES[query_name]
        async with self._pool.acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(query.sql, *query.args(values))
        return rows

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
                    trigger=trigger,
                    last_slot=row["last_slot"],
                    last_fired_slot=row["last_fired_slot"],
                    last_execution_id=row["last_execution_id"],
                )
            )
        return found

    async def bookmark(self, workflow_id: UUID, slot: datetime) -> None:
        await self._fetch("bookmark_schedule", workflow_id=workflow_id, slot=slot)

    async def advance(
        self,
        workflow_id: UUID,
        previous: datetime,
        slot: datetime,
        fired: tuple[datetime, UUID] | None,
    ) -> bool:
        rows = await self._fetch(
            "advance_schedule",
            workflow_id=workflow_id,
            previous=previous,
            slot=slot,
            fired_slot=fired[0] if fired else None,
            execution_id=fired[1] if fired else None,
        )
        return bool(rows)
