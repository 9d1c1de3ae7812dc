"""The ``TraceContexts`` port: an execution's trace context, from its creation's audit entry."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from govflow.usecases.start_execution import CREATED_EVENT
from govflow.usecases.tracing import Carrier

_OF_EXECUTION = """
SELECT metadata->>'traceparent' AS traceparent, metadata->>'tracestate' AS tracestate
  FROM audit_logs
 WHERE entity_type = 'execution' AND entity_id = $1 AND action = $2
 LIMIT 1
"""


class PgTraceContexts:
    """Reads the ``traceparent`` a traced start kept in ``WORKFLOW_EXECUTION_CREATED``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def of_execution(self, execution_id: UUID) -> Carrier | None:
        row = await self._pool.fetchrow(_OF_EXECUTION, str(execution_id), CREATED_EVENT)
        if row is None or row["traceparent"] is None:
            return None
        found = {"traceparent": str(row["traceparent"])}
        if row["tracestate"]:
            found["tracestate"] = str(row["tracestate"])
        return found
