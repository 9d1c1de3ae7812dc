"""Creating executions (one statement) and finding the workflow version to pin."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from govflow.core.statuses import ExecutionStatus
from govflow.usecases.start_execution import (
    CREATED_EVENT,
    CurrentWorkflow,
    KeyTaken,
    NewExecution,
    StartResult,
)

_CREATE = """
WITH execution AS (
    INSERT INTO executions (workflow_id, workflow_version_id, department_id, inputs,
                            idempotency_key, created_by, vars, deadline_at,
                            parent_execution_id, parent_step_id, depth, runnable_steps)
    VALUES ($1, $2, $3, $4::jsonb, $5, $6, $15::jsonb,
            now() + make_interval(secs => $17::float8), $18, $19, $20, $24)
    ON CONFLICT (idempotency_key, created_by) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id
), steps AS (
    INSERT INTO execution_steps (execution_id, position, step_key, action, max_attempts,
                                 idempotency_key, next_attempt_at, enqueued_at, continue_on_error,
                                 needs_left, dependents)
    SELECT execution.id, s.position, s.step_key, s.action, s.max_attempts,
           execution.id::text || ':' || s.step_key,
           CASE WHEN s.root THEN now() END,
           CASE WHEN s.root THEN now() END,
           s.continue_on_error, s.needs_left,
           string_to_array(s.dependents, ',')::int4[]
      FROM execution,
           unnest($7::int[], $8::text[], $9::text[], $10::int[], $16::bool[], $21::int[],
                  $22::bool[], $23::text[])
             AS s(position, step_key, action, max_attempts, continue_on_error, needs_left, root,
                  dependents)
    RETURNING id, position, next_attempt_at
), audit AS (
    INSERT INTO audit_logs (action, actor_id, actor_email, entity_type, entity_id,
                            department_id, request_id, metadata)
    SELECT $11, $6, $12, 'execution', execution.id::text, $3, $13,
           jsonb_build_object('workflow_id', $1::uuid, 'workflow_version_id', $2::uuid)
             || coalesce($14::jsonb, '{}'::jsonb)
      FROM execution
)
SELECT execution.id,
       (SELECT id FROM steps WHERE next_attempt_at IS NOT NULL ORDER BY position LIMIT 1)
         AS first_step_id,
       ARRAY(SELECT id FROM steps WHERE next_attempt_at IS NOT NULL ORDER BY position OFFSET 1)
         AS more_step_ids
  FROM execution
"""

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


class PgExecutionWriter:
    """The ``ExecutionWriter`` port."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, new: NewExecution) -> StartResult | KeyTaken:
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
                msgspec.json.encode(new.trace_context).decode() if new.trace_context else None,
                msgspec.json.encode(dict(new.variables)).decode(),
                [s.continue_on_error for s in steps],
                new.timeout_seconds,
                new.parent_execution_id,
                new.parent_step_id,
                new.depth,
                [s.needs_left for s in steps],
                [s.root for s in steps],
                [s.dependents for s in steps],
                new.runnable_steps,
            )
            if row is not None:
                return StartResult(
                    execution_id=row["id"],
                    workflow_id=new.workflow_id,
                    first_step_id=row["first_step_id"],
                    more_step_ids=tuple(row["more_step_ids"]),
                    created=True,
                )
            assert new.idempotency_key is not None
            return await existing_start(conn, new.idempotency_key, new.actor.user_id)


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
