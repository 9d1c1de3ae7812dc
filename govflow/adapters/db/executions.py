"""Creating executions (one statement) and finding the workflow version to pin."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec
from cachetools import LRUCache

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


CACHED_WORKFLOWS = 1024
"""Answers a catalog keeps at most (one per workflow and department scope asked for), the least
recently used dropped first."""


class PgWorkflowCatalog:
    """The ``WorkflowCatalog`` port, with a cache of the active workflows it has read.

    A cached answer may be stale (a new version loaded, the workflow deactivated or moved); it
    is only given to a caller that asks for it, whose create checks it (``only_current``). A
    workflow not found or deactivated is always read again, so that it is never refused on an
    old answer."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._cache: LRUCache[tuple[str, UUID | None], CurrentWorkflow] = LRUCache(
            maxsize=CACHED_WORKFLOWS
        )
        self.reads = 0
        """Statements sent so far (for tests)."""

    async def current(
        self, workflow: str | UUID, department: UUID | None, *, cached: bool = False
    ) -> CurrentWorkflow | None:
        key = (str(workflow), department)
        if cached and (known := self._cache.get(key)) is not None:
            return known
        workflow_id = workflow if isinstance(workflow, UUID) else _as_uuid(workflow)
        self.reads += 1
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_CURRENT, workflow_id, str(workflow), department)
        if row is None:
            self._cache.pop(key, None)
            return None
        found = CurrentWorkflow(**dict(row))
        if found.is_active:
            self._cache[key] = found
        else:
            self._cache.pop(key, None)
        return found


def _as_uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
