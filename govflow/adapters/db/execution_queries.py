"""Reading executions and their steps (for the CLI and the API)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec

_EXECUTION = """
SELECT e.id, e.status, e.inputs::text AS inputs, e.error::text AS error, e.created_at,
       e.started_at, e.finished_at, e.department_id, e.idempotency_key,
       w.name AS workflow, v.version AS workflow_version
  FROM executions e
  JOIN workflows w ON w.id = e.workflow_id
  JOIN workflow_versions v ON v.id = e.workflow_version_id
 WHERE e.id = $1 AND ($2::uuid IS NULL OR e.department_id = $2)
"""

_STEPS = """
SELECT s.id, s.position, s.step_key, s.action, s.status, s.attempt, s.max_attempts,
       s.output::text AS output, s.error::text AS error, s.next_attempt_at,
       s.started_at, s.finished_at, s.wait_reason, s.idempotency_key
  FROM execution_steps s WHERE s.execution_id = $1 ORDER BY s.position
"""


def _decoded(row: asyncpg.Record, *json_columns: str) -> dict[str, Any]:
    data = dict(row)
    for column in json_columns:
        data[column] = msgspec.json.decode(data[column]) if data[column] else None
    return data


async def execution_detail(
    conn: asyncpg.Connection, execution_id: UUID, department_scope: UUID | None = None
) -> dict[str, Any] | None:
    """The execution with its steps, or None when it does not exist in the scope."""
    row = await conn.fetchrow(_EXECUTION, execution_id, department_scope)
    if row is None:
        return None
    detail = _decoded(row, "inputs", "error")
    detail["steps"] = [
        _decoded(s, "output", "error") for s in await conn.fetch(_STEPS, execution_id)
    ]
    return detail
