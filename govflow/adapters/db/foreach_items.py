"""The results of ``foreach`` items over PostgreSQL (the statements of ``sql/foreach.sql``)."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from govflow.adapters.db.queries import load_queries
from govflow.adapters.db.resilience import DEFAULT_POLICY, Resilient, RetryPolicy
from govflow.usecases.ports import ClaimedStep

QUERIES = load_queries("foreach.sql")


class PgItemResults:
    """The ``ItemResults`` port: what items of a step ended, and keeping an item's result."""

    def __init__(self, pool: asyncpg.Pool, policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._db = Resilient(pool, policy)

    async def kept(self, claim: ClaimedStep) -> dict[int, dict[str, Any]]:
        query = QUERIES["item_results"]
        args = query.args({"step_id": claim.step_id})
        rows = await self._db.run(
            lambda conn: conn.fetch(query.sql, *args),
            lambda: f"item results of step {claim.step_id}",
        )
        return {int(row["item_index"]): msgspec.json.decode(row["output"]) for row in rows}

    async def keep(self, claim: ClaimedStep, index: int, output: Any) -> bool:
        query = QUERIES["keep_item_result"]
        values = {
            "step_id": claim.step_id,
            "token": claim.fencing_token,
            "item_index": index,
            "output": msgspec.json.encode(output).decode(),
        }
        args = query.args(values)
        kept = await self._db.run(
            lambda conn: conn.fetchval(query.sql, *args),
            lambda: f"result of item {index} of step {claim.step_id}",
        )
        return bool(kept)
