"""The step store a MANAGER's stale recovery works through: one department's steps only.

The sweeper reads two things: steps whose lease expired (taken over with a new fencing token)
and pending steps whose wake-up was lost. :class:`PgDepartmentSteps` answers both for the
executions of one department and leaves every other operation, the writes included, to
:class:`~govflow.adapters.db.steps.PgStepStore`; the statements mirror the engine's own in
``steps.py`` with the department added to their ``WHERE`` clause.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.steps import PgStepStore
from govflow.usecases.ports import ClaimedStep, ExpiredStep

_TAKE_EXPIRED = """
WITH expired AS (
    SELECT s.id FROM execution_steps s
     WHERE s.status = 'RUNNING' AND s.lease_expires_at < now()
       AND (SELECT x.department_id FROM executions x WHERE x.id = s.execution_id) = $4
     ORDER BY s.lease_expires_at
     LIMIT $3
       FOR UPDATE OF s SKIP LOCKED
), taken AS (
    UPDATE execution_steps s
       SET fencing_token = s.fencing_token + 1, lease_owner = $1,
           lease_expires_at = now() + make_interval(secs => $2), updated_at = now()
      FROM expired
     WHERE s.id = expired.id
 RETURNING s.id AS step_id, s.execution_id, s.position, s.step_key, s.action, s.attempt,
           s.fencing_token, s.idempotency_key, s.attempt_started, s.idempotency,
           s.params::text AS params
)
SELECT taken.*, e.workflow_version_id, e.department_id, e.status AS execution_status
  FROM taken
 CROSS JOIN LATERAL (SELECT x.workflow_version_id, x.department_id, x.status
                       FROM executions x WHERE x.id = taken.execution_id OFFSET 0) e
"""

_DUE_UNCLAIMED = """
UPDATE execution_steps s SET enqueued_at = now()
 WHERE s.id IN (
    SELECT p.id FROM execution_steps p
      JOIN executions e ON e.id = p.execution_id
     WHERE p.status = 'PENDING' AND p.next_attempt_at <= now()
       AND (p.enqueued_at IS NULL OR p.enqueued_at < now() - make_interval(secs => $1))
       AND e.status IN ('PENDING', 'RUNNING') AND e.department_id = $3
     ORDER BY p.next_attempt_at
     LIMIT $2
       FOR UPDATE OF p SKIP LOCKED)
RETURNING s.id
"""


def _expired(row: asyncpg.Record) -> ExpiredStep:
    claim = ClaimedStep(
        step_id=row["step_id"],
        execution_id=row["execution_id"],
        workflow_version_id=row["workflow_version_id"],
        department_id=row["department_id"],
        position=row["position"],
        step_key=row["step_key"],
        action=row["action"],
        attempt=row["attempt"],
        fencing_token=row["fencing_token"],
        idempotency_key=row["idempotency_key"],
    )
    return ExpiredStep(
        claim=claim,
        execution_status=row["execution_status"],
        attempt_started=row["attempt_started"],
        idempotency=row["idempotency"],
        params=msgspec.json.decode(row["params"]) if row["params"] else None,
    )


class PgDepartmentSteps(PgStepStore):
    """The engine's step store, with recovery reads restricted to ``department_id``."""

    def __init__(self, pool: asyncpg.Pool, department_id: UUID) -> None:
        super().__init__(pool)
        self.department_id = department_id

    async def take_expired(self, worker: str, lease: timedelta, limit: int) -> list[ExpiredStep]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                _TAKE_EXPIRED, worker, lease.total_seconds(), limit, self.department_id
            )
        return [_expired(row) for row in rows]

    async def due_unclaimed(self, resend_after: timedelta, limit: int) -> list[UUID]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                _DUE_UNCLAIMED, resend_after.total_seconds(), limit, self.department_id
            )
        return [row["id"] for row in rows]
