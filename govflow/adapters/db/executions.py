"""Creating executions (one statement) and finding the workflow version to pin."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from govflow.core.statuses import ExecutionStatus
from govflow.usecases.start_execution import (
    CurrentWorkflow,
    KeyTaken,
)

# The key belongs to its caller: the same user, or GovFlow itself (no user) for every start
# without one; the unique index treats a missing user as one caller (NULLS NOT DISTINCT).
_EXISTING = """
SELECT id, workflow_id, inputs::text AS inputs, status
  FROM executions
 WHERE idempotency_key = $1 AND created_by IS NOT DISTINCT FROM $2
"""

_CURRENT = """
SELECT w.id AS workflow_id, w.name, w.current_version_id AS version_id, w.department_id,
       w.is_active
  FROM workflows w
 WHERE (w.id = $1 OR w.name = $2) AND w.current_version_id IS NOT NULL
   AND ($3::uuid IS NULL OR w.department_id = $3)
"""


async def existing_start(conn: asyncpg.Connection, key: str, user_id: UUID | None) -> KeyTaken:
    """The execution ``user_id`` started with ``key``, which an insert just met (committed:
    ON CONFLICT waits for the other writer)."""
    existing = await conn.fetchrow(_EXISTING, key, user_id)
    assert existing is not None
    return KeyTaken(
        execution_id=existing["id"],
        workflow_id=existing["workflow_id"],
        inputs=msgspec.json.decode(existing["inputs"]),
        status=ExecutionStatus(existing["status"]),
    )


class PgWorkflowCatalog:
    """The ``WorkflowCatalog`` port."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def current(
        self, workflow: str | UUID, department: UUID | None
    ) -> CurrentWorkflow | None:
        workflow_id = workflow if isinstance(workflow, UUID) else _as_uuid(workflow)
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_CURRENT, workflow_id, str(workflow), department)
        if row is None:
            return None
        return CurrentWorkflow(**dict(row))


def _as_uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
