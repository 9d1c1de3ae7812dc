"""Creating executions (one statement) and finding the workflow version to pin."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from govflow.usecases.start_execution import (
    CREATED_EVENT,
    CurrentWorkflow,
    NewExecution,
    StartResult,
)

_CREATE = """
WITH execution AS (
    INSERT INTO executions (workflow_id, workflow_version_id, department_id, inputs,
                            idempotency_key, created_by)
    VALUES ($1, $2, $3, $4::jsonb, $5, $6)
    ON CONFLICT (workflow_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id
), steps AS (
    INSERT INTO execution_steps (execution_id, position, step_key, action, max_attempts,
                                 idempotency_key, next_attempt_at, enqueued_at)
    SELECT execution.id, s.position, s.step_key, s.action, s.max_attempts,
           execution.id::text || ':' || s.step_key,
           CASE WHEN s.position = 0 THEN now() END,
           CASE WHEN s.position = 0 THEN now() END
      FROM execution,
           unnest($7::int[], $8::text[], $9::text[], $10::int[])
             AS s(position, step_key, action, max_attempts)
    RETURNING id, position
), audit AS (
    INSERT INTO audit_logs (action, actor_id, actor_email, entity_type, entity_id,
                            department_id, request_id, metadata)
    SELECT $11, $6, $12, 'execution', execution.id::text, $3, $13,
           jsonb_build_object('workflow_id', $1::uuid, 'workflow_version_id', $2::uuid)
      FROM execution
)
SELECT execution.id, (SELECT id FROM steps WHERE position = 0) AS first_step_id
  FROM execution
"""

_EXISTING = """
SELECT id FROM executions WHERE workflow_id = $1 AND idempotency_key = $2
"""

_CURRENT = """
SELECT w.id AS workflow_id, w.name, w.current_version_id AS version_id, w.department_id,
       w.is_active
  FROM workflows w
 WHERE (w.id = $1 OR w.name = $2) AND w.current_version_id IS NOT NULL
   AND ($3::uuid IS NULL OR w.department_id = $3)
"""


class PgExecutionWriter:
    """The ``ExecutionWriter`` port."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, new: NewExecution) -> StartResult:
        steps = new.steps
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                _CREATE,
                new.workflow_id,
                new.version_id,
                new.department_id,
                msgspec.json.encode(dict(new.inputs)).decode(),
                new.idempotency_key,
                new.actor.user_id,
                [s.position for s in steps],
                [s.step_key for s in steps],
                [s.action for s in steps],
                [s.max_attempts for s in steps],
                CREATED_EVENT,
                new.actor.email,
                new.request_id,
            )
            if row is not None:
                return StartResult(
                    execution_id=row["id"], first_step_id=row["first_step_id"], created=True
                )
            existing = await conn.fetchval(_EXISTING, new.workflow_id, new.idempotency_key)
        return StartResult(execution_id=existing, first_step_id=None, created=False)


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
