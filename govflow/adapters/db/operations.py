"""The execution locked for an operator action (``SELECT ... FOR UPDATE``) and its changes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.audit import append_audit
from govflow.usecases.audit import AuditEntry
from govflow.usecases.operate import ExecutionSnapshot, StepChange, StepSnapshot

_LOCK = """
SELECT id, status, department_id FROM executions
 WHERE id = $1 AND ($2::uuid IS NULL OR department_id = $2)
   FOR UPDATE
"""

_STEPS = """
SELECT id, position, step_key, status, attempt, attempt_started, idempotency
  FROM execution_steps WHERE execution_id = $1 ORDER BY position FOR UPDATE
"""

_CHANGE_STEP = """
UPDATE execution_steps
   SET status = $2::varchar, output = COALESCE($3::jsonb, output),
       attempt = CASE WHEN $4::bool THEN 0 ELSE attempt END,
       next_attempt_at = CASE WHEN $5::bool THEN now() ELSE next_attempt_at END,
       enqueued_at = CASE WHEN $5::bool THEN now() ELSE enqueued_at END,
       finished_at = CASE WHEN $2::varchar IN ('COMPLETED', 'SKIPPED', 'CANCELED') THEN now()
                          WHEN $2::varchar = 'PENDING' THEN NULL ELSE finished_at END,
       fencing_token = fencing_token + 1, lease_owner = NULL, lease_expires_at = NULL,
       error = CASE WHEN $2::varchar = 'PENDING' THEN NULL ELSE error END, updated_at = now()
 WHERE id = $1
"""

_CANCEL_TASK = """
UPDATE human_tasks SET status = 'CANCELED', updated_at = now(), version = version + 1
 WHERE execution_step_id = $1 AND status NOT IN ('APPROVED', 'CANCELED', 'EXPIRED')
"""

_CHANGE_EXECUTION = """
UPDATE executions
   SET status = $2::varchar,
       finished_at = CASE WHEN $2::varchar IN ('COMPLETED', 'FAILED', 'CANCELED') THEN now() END,
       error = CASE WHEN $2::varchar = 'RUNNING' THEN NULL ELSE error END, updated_at = now()
 WHERE id = $1
"""


class _Locked:
    def __init__(self, conn: asyncpg.Connection, snapshot: ExecutionSnapshot) -> None:
        self._conn = conn
        self.snapshot = snapshot

    async def apply(
        self,
        changes: Sequence[StepChange],
        execution_status: str | None,
        audit: Sequence[AuditEntry],
    ) -> None:
        for change in changes:
            output = msgspec.json.encode(change.output).decode() if change.output else None
            await self._conn.execute(
                _CHANGE_STEP,
                change.step_id,
                change.status,
                output,
                change.reset_attempts,
                change.runnable_now,
            )
            if change.cancel_human_task:
                await self._conn.execute(_CANCEL_TASK, change.step_id)
        if execution_status is not None:
            await self._conn.execute(
                _CHANGE_EXECUTION, self.snapshot.execution_id, execution_status
            )
        await append_audit(self._conn, list(audit))


class PgExecutionControl:
    """The ``ExecutionControl`` port."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @contextlib.asynccontextmanager
    async def locked(
        self, execution_id: UUID, department_scope: UUID | None
    ) -> AsyncIterator[_Locked | None]:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_LOCK, execution_id, department_scope)
            if row is None:
                yield None
                return
            steps = [
                StepSnapshot(
                    step_id=s["id"],
                    position=s["position"],
                    step_key=s["step_key"],
                    status=s["status"],
                    attempt=s["attempt"],
                    attempt_started=s["attempt_started"],
                    idempotency=s["idempotency"],
                )
                for s in await conn.fetch(_STEPS, execution_id)
            ]
            yield _Locked(
                conn,
                ExecutionSnapshot(
                    execution_id=row["id"],
                    status=row["status"],
                    department_id=row["department_id"],
                    steps=steps,
                ),
            )
