"""What a claim or a finish did when its reply was lost with its connection.

A step statement that met a lost connection is run again on a fresh one
(:mod:`govflow.adapters.db.resilience`). When that second run finds nothing to do, the first one
may have committed unseen: a finish whose step already holds the result, a claim whose step is
already ``RUNNING`` for this worker. These reads tell, so that the worker goes on with the step
it owns instead of leaving it to lease-expiry recovery, which would run its action again.

They are only read after a lost connection, never on the hot path.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from govflow.usecases.ports import ClaimedStep, StepFinish

# The same columns as the claim statement returns, for a step this worker already holds: RUNNING
# under its lease, the action not started, and the attempt row of the current token its own.
CLAIMED_BY = """
SELECT s.id AS step_id, s.execution_id, s.position, s.step_key, s.action, s.attempt,
       s.fencing_token, s.idempotency_key, 0.0::float8 AS lag,
       e.workflow_version_id, e.department_id, e.inputs::text AS inputs,
       (SELECT w.name FROM workflows w WHERE w.id = e.workflow_id) AS workflow_name,
       (SELECT jsonb_object_agg(p.step_key, jsonb_build_object('output', p.output,
                                                               'status', p.status))
          FROM execution_steps p
         WHERE p.execution_id = s.execution_id AND p.position < s.position)::text AS steps
  FROM execution_steps s
  JOIN executions e ON e.id = s.execution_id
 WHERE s.id = $1 AND s.status = 'RUNNING' AND s.lease_owner = $2 AND NOT s.attempt_started
   AND EXISTS (SELECT 1 FROM execution_step_attempts a
                WHERE a.execution_step_id = s.id AND a.fencing_token = s.fencing_token
                  AND a.worker = $2 AND a.finished_at IS NULL)
"""

# A finish applied with token $2 when the attempt row of that token was closed (only the finish
# closes it), or when the step left RUNNING still carrying that token (every other writer - a
# claim, a recovery, a cancel - moves the token on). The next step is returned as it is now.
FINISH_OUTCOME = """
SELECT (EXISTS (SELECT 1 FROM execution_step_attempts a
                 WHERE a.execution_step_id = $1 AND a.fencing_token = $2
                   AND a.finished_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM execution_steps s
                    WHERE s.id = $1 AND s.fencing_token = $2 AND s.status <> 'RUNNING'))
         AS applied,
       (SELECT e.status FROM executions e WHERE e.id = $3) AS execution_status,
       n.id AS step_id, n.execution_id, n.position, n.step_key, n.action, n.attempt,
       n.fencing_token, n.idempotency_key, n.status AS next_status, n.lease_owner AS next_owner
  FROM (VALUES (1)) AS one
  LEFT JOIN execution_steps n ON n.execution_id = $3 AND n.position = $4 + 1
"""


async def finish_outcome(
    conn: asyncpg.Connection, claim: ClaimedStep, finish: StepFinish, worker: str
) -> dict[str, Any]:
    """The finish statement's result row, as the finish with ``claim``'s token left it.

    ``step_id`` and the other claimed columns are set only when that finish claimed the next
    step for ``worker`` (and it still holds it); ``released_id`` only when it released it.
    """
    row = await conn.fetchrow(
        FINISH_OUTCOME, claim.step_id, claim.fencing_token, claim.execution_id, claim.position
    )
    assert row is not None  # one row, always
    result = dict(row)
    applied = bool(result["applied"])
    ours = (
        applied
        and finish.claim_next
        and result["next_status"] == "RUNNING"
        and result["next_owner"] == worker
    )
    if not ours:
        for column in ("step_id", "execution_id", "position", "step_key", "action", "attempt"):
            result[column] = None
        result["fencing_token"] = result["idempotency_key"] = None
    released = applied and finish.release_next and result["next_status"] == "PENDING"
    result["released_id"] = row["step_id"] if released else None
    return result


class Grants:
    """The (step, fencing token) pairs this process was handed, the most recent ones.

    A token is granted by the database to exactly one statement. A claim whose reply was lost
    and whose re-read finds the step held by this worker cannot tell its own grant from one that
    another call of this process (a duplicate wake-up of the same step) received: whichever
    call takes the pair here first runs the step; the other one gets nothing.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._taken: dict[tuple[UUID, int], None] = {}

    def take(self, step_id: UUID, token: int) -> bool:
        """Record the pair; ``False`` when a call of this process took it already."""
        key = (step_id, token)
        if key in self._taken:
            return False
        self._taken[key] = None
        if len(self._taken) > self._size:
            del self._taken[next(iter(self._taken))]
        return True
