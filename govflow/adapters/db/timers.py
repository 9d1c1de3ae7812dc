"""The ``TimerStore`` port: a ``wait`` step's due time and the timers due (the statements of
``sql/timers.sql``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from govflow.adapters.db.queries import load_queries
from govflow.adapters.db.resilience import DEFAULT_POLICY, Resilient, RetryPolicy
from govflow.usecases.ports import ClaimedStep
from govflow.usecases.timers import DueTimer

QUERIES = load_queries("timers.sql")


class PgTimerStore:
    """The ``TimerStore`` port."""

    def __init__(self, pool: asyncpg.Pool, policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._db = Resilient(pool, policy)

    async def open(self, claim: ClaimedStep, due_at: datetime) -> bool:
        query = QUERIES["open_timer"]
        args = query.args(
            {"step_id": claim.step_id, "token": claim.fencing_token, "due_at": due_at}
        )
        status = await self._db.run(
            lambda conn: conn.execute(query.sql, *args),
            lambda: f"timer of step {claim.step_id}",
        )
        return bool(status == "UPDATE 1")

    async def due(self, now: datetime, limit: int) -> Sequence[DueTimer]:
        query = QUERIES["due_timers"]
        args = query.args({"now": now, "limit": limit})
        rows: list[asyncpg.Record] = await self._db.run(
            lambda conn: conn.fetch(query.sql, *args), lambda: "due timers"
        )
        return [
            DueTimer(
                execution_id=row["execution_id"],
                step_key=row["step_key"],
                due_at=row["wake_at"],
            )
            for row in rows
        ]
