"""The ``SubWorkflowStore`` port: parents, child workflow versions, ended children, orphans
(the queries of ``sql/subworkflows.sql``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.queries import load_queries
from govflow.core.spec import OUTPUTS_ACTION
from govflow.core.statuses import ExecutionStatus
from govflow.usecases.subworkflows import ChildWorkflow, EndedChild, ParentExecution

QUERIES = load_queries("subworkflows.sql")


def _json(text: str | None) -> dict[str, Any] | None:
    return None if text is None else msgspec.json.decode(text)


class PgSubWorkflowStore:
    """The ``SubWorkflowStore`` port."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _fetch(self, query_name: str, /, **values: Any) -> list[asyncpg.Record]:
        query = QUERIES[query_name]
        async with self._pool.acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(query.sql, *query.args(values))
        return rows

    async def parent(self, execution_id: UUID) -> ParentExecution | None:
        rows = await self._fetch("parent", execution_id=execution_id)
        return ParentExecution(**dict(rows[0])) if rows else None

    async def workflow(self, name: str, version: int | None) -> ChildWorkflow | None:
        rows = await self._fetch("child_workflow", name=name, version=version)
        return ChildWorkflow(**dict(rows[0])) if rows else None

    async def ended_children(
        self, limit: int, child_id: UUID | None = None
    ) -> Sequence[EndedChild]:
        rows = await self._fetch(
            "ended_children", outputs_action=OUTPUTS_ACTION, child_id=child_id, limit=limit
        )
        return [
            EndedChild(
                child_id=row["child_id"],
                status=ExecutionStatus(row["status"]),
                outputs=_json(row["outputs"]),
                error=_json(row["error"]),
                parent_execution_id=row["parent_execution_id"],
                parent_step_key=row["parent_step_key"],
            )
            for row in rows
        ]

    async def orphans(self, limit: int) -> Sequence[UUID]:
        rows = await self._fetch("orphans", limit=limit)
        return [row["id"] for row in rows]
