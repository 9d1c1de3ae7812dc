"""The sweeper's ``SweepTraces`` port: where an execution's trace started (from an execution or
from its steps), read from its creation's audit entry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

import asyncpg

from govflow.usecases.start_execution import CREATED_EVENT
from govflow.usecases.sweep import StepOrigin
from govflow.usecases.tracing import Carrier

_OF_EXECUTION = """
SELECT metadata->>'traceparent' AS traceparent, metadata->>'tracestate' AS tracestate
  FROM audit_logs
 WHERE entity_type = 'execution' AND entity_id = $1 AND action = $2
 LIMIT 1
"""

_OF_STEPS = """
SELECT s.id AS step_id, s.execution_id, created.traceparent, created.tracestate
  FROM execution_steps s
  LEFT JOIN LATERAL (
        SELECT a.metadata->>'traceparent' AS traceparent,
               a.metadata->>'tracestate' AS tracestate
          FROM audit_logs a
         WHERE a.entity_type = 'execution' AND a.entity_id = s.execution_id::text
           AND a.action = $2
         LIMIT 1) created ON true
 WHERE s.id = ANY($1::uuid[])
"""


def _carrier(traceparent: str | None, tracestate: str | None) -> Carrier | None:
    if traceparent is None:
        return None
    found = {"traceparent": str(traceparent)}
    if tracestate:
        found["tracestate"] = str(tracestate)
    return found


class PgTraceContexts:
    """Reads the ``traceparent`` a traced start kept in ``WORKFLOW_EXECUTION_CREATED``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def of_execution(self, execution_id: UUID) -> Carrier | None:
        row = await self._pool.fetchrow(_OF_EXECUTION, str(execution_id), CREATED_EVENT)
        if row is None:
            return None
        return _carrier(row["traceparent"], row["tracestate"])

    async def of_steps(self, step_ids: Sequence[UUID]) -> Mapping[UUID, StepOrigin]:
        """Each step's execution and where its start was traced, in one statement."""
        rows = await self._pool.fetch(_OF_STEPS, list(step_ids), CREATED_EVENT)
        return {
            row["step_id"]: StepOrigin(
                execution_id=row["execution_id"],
                carrier=_carrier(row["traceparent"], row["tracestate"]),
            )
            for row in rows
        }
