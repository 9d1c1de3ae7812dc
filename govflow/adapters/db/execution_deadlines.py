"""The ``ExecutionDeadlines`` port: active executions past their workflow's timeout."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from govflow.adapters.db.queries import load_queries
from govflow.usecases.execution_timeouts import OverdueExecution

_PAST_DEADLINE = load_queries("operations.sql")["past_deadline"]


class PgExecutionDeadlines:
    """Reads the executions the sweeper times out."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def past_deadline(self, limit: int) -> Sequence[OverdueExecution]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_PAST_DEADLINE.sql, *_PAST_DEADLINE.args({"limit": limit}))
        return [OverdueExecution(execution_id=r["id"], timeout=r["timeout"]) for r in rows]
