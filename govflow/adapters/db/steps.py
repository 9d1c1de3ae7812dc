"""All SQL of the engine's hot path: claiming, finishing and recovering execution steps.

Each operation is one statement (one implicit transaction, one round trip). Writes are guarded:
a claim only takes a ``PENDING`` step of a live execution; a finish only applies with the
current fencing token; an execution that is no longer active (e.g. ``CANCELED``) is never
overwritten and never gets a next step claimed.

A statement met by a lost connection is run again on a fresh one (:mod:`.resilience`); the
guards make a second run of a statement that did commit change nothing, and a claim or finish
whose second run finds nothing to do reads what its first run did (:mod:`.step_outcomes`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.resilience import DEFAULT_POLICY, Resilient, RetryPolicy
from govflow.adapters.db.step_outcomes import CLAIMED_BY, Grants, finish_outcome
from govflow.usecases.audit import AuditEntry
from govflow.usecases.ports import (
    ClaimedStep,
    ExecutionContext,
    ExpiredStep,
    FinishResult,
    StepFinish,
)

log = logging.getLogger("govflow.db")

_encode = msgspec.json.encode
_decode = msgspec.json.decode

_CLAIMED_COLUMNS = """
    s.id AS step_id, s.execution_id, s.position, s.step_key, s.action, s.attempt,
    s.fencing_token, s.idempotency_key
"""

# Every table is reached by an index equality on a parameter (or on a value computed from one):
# a generic plan made while the tables were nearly empty (a new database, a fresh connection)
# must not scan them sequentially once they have grown.
_CLAIM = f"""
WITH target AS (
    SELECT s.id, s.next_attempt_at
      FROM execution_steps s
     WHERE s.id = $1 AND s.status = 'PENDING' AND s.next_attempt_at <= now()
       AND (SELECT e.status FROM executions e WHERE e.id = s.execution_id)
           IN ('PENDING', 'RUNNING')
       FOR UPDATE OF s SKIP LOCKED
), claimed AS (
    UPDATE execution_steps s
       SET status = 'RUNNING', attempt = s.attempt + 1, fencing_token = s.fencing_token + 1,
           lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3),
           attempt_started = false, next_attempt_at = NULL, enqueued_at = NULL,
           started_at = COALESCE(s.started_at, now()), updated_at = now()
      FROM target
     WHERE s.id = $1 AND s.id = target.id
 RETURNING {_CLAIMED_COLUMNS}, extract(epoch FROM now() - target.next_attempt_at) AS lag
), execution AS MATERIALIZED (
    SELECT e.workflow_id, e.workflow_version_id, e.department_id, e.inputs
      FROM executions e
     WHERE e.id = (SELECT execution_id FROM claimed)
), started AS (
    UPDATE executions e
       SET status = 'RUNNING', started_at = COALESCE(e.started_at, now()), updated_at = now()
     WHERE e.id = (SELECT execution_id FROM claimed) AND e.status = 'PENDING'
 RETURNING e.id, e.department_id
), attempt AS (
    INSERT INTO execution_step_attempts (execution_step_id, attempt, fencing_token, worker)
    SELECT step_id, attempt, fencing_token, $2 FROM claimed
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, metadata)
    SELECT 'WORKFLOW_EXECUTION_PROCESS_STARTED', 'execution', started.id::text,
           started.department_id, '{{}}'::jsonb
      FROM started
    UNION ALL
    SELECT 'WORKFLOW_EXECUTION_STEP_STARTED', 'execution_step', claimed.step_id::text,
           execution.department_id,
           jsonb_build_object('execution_id', claimed.execution_id, 'step', claimed.step_key,
                              'attempt', claimed.attempt)
      FROM claimed, execution
)
SELECT claimed.*, execution.workflow_version_id, execution.department_id,
       execution.inputs::text AS inputs,
       (SELECT w.name FROM workflows w WHERE w.id = execution.workflow_id) AS workflow_name,
       (SELECT jsonb_object_agg(p.step_key, jsonb_build_object('output', p.output,
                                                               'status', p.status))
          FROM execution_steps p
         WHERE p.execution_id = claimed.execution_id
           AND p.position < claimed.position)::text AS steps
  FROM claimed, execution
"""

_MARK_STARTED = """
UPDATE execution_steps
   SET attempt_started = true, idempotency = $3, params = $4::jsonb, updated_at = now()
 WHERE id = $1 AND fencing_token = $2 AND status = 'RUNNING'
"""

_EXTEND = """
UPDATE execution_steps SET lease_expires_at = now() + make_interval(secs => $3)
 WHERE id = $1 AND fencing_token = $2 AND status = 'RUNNING'
"""

_FINISH_PARAMS: dict[str, str] = {
    # name: SQL type; a statement numbers only the parameters it uses, in this order
    "step_id": "uuid",
    "token": "int8",
    "execution_id": "uuid",
    "position": "int4",
    "status": "varchar",
    "output": "jsonb",
    "error": "jsonb",
    "outcome": "varchar",
    "retry_in": "float8",
    "wait_reason": "varchar",
    "department": "uuid",
    "a_action": "text[]",
    "a_entity_type": "text[]",
    "a_entity_id": "text[]",
    "a_reason": "text[]",
    "a_metadata": "jsonb[]",
    "exec_status": "varchar",
    "exec_error": "jsonb",
    "worker": "varchar",
    "lease": "float8",
    "task": "jsonb",
}

_FINISH_DONE = """
WITH done AS (
    UPDATE execution_steps
       SET status = {status}, output = COALESCE({output}, output), error = {error},
           next_attempt_at = CASE WHEN {status} = 'PENDING'
                                  THEN now() + make_interval(secs => {retry_in}) END,
           enqueued_at = NULL, wait_reason = {wait_reason},
           finished_at = CASE WHEN {status} IN ('COMPLETED', 'FAILED', 'SKIPPED') THEN now() END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE id = {step_id} AND fencing_token = {token} AND status = 'RUNNING'
 RETURNING execution_id, position, id
), attempt AS (
    UPDATE execution_step_attempts
       SET finished_at = now(), outcome = {outcome}, output = {output}, error = {error}
     WHERE execution_step_id = {step_id} AND fencing_token = {token}
       AND EXISTS (SELECT 1 FROM done)
)"""

# The execution's status changes: update it, unless it is terminal already.
_FINISH_EXECUTION_UPDATE = """, execution AS (
    UPDATE executions e
       SET status = COALESCE({exec_status}, e.status), error = COALESCE({exec_error}, e.error),
           finished_at = CASE WHEN {exec_status} IN ('COMPLETED', 'FAILED') THEN now()
                              ELSE e.finished_at END,
           updated_at = now()
     WHERE e.id = {execution_id} AND e.status IN ('PENDING', 'RUNNING', 'WAITING')
       AND EXISTS (SELECT 1 FROM done)
 RETURNING e.id, e.status
)"""

# The execution's status stays: lock its row as the update would (a cancel holding it is waited
# for and then re-checked), without writing a new row version and its index entries.
_FINISH_EXECUTION_LOCK = """, execution AS MATERIALIZED (
    SELECT e.id, e.status
      FROM executions e
     WHERE e.id = {execution_id} AND e.status IN ('PENDING', 'RUNNING', 'WAITING')
       AND EXISTS (SELECT 1 FROM done)
       FOR NO KEY UPDATE OF e
)"""

_FINISH_CLAIM_NEXT = """, claimed AS (
    UPDATE execution_steps s
       SET status = 'RUNNING', attempt = s.attempt + 1, fencing_token = s.fencing_token + 1,
           lease_owner = {worker}, lease_expires_at = now() + make_interval(secs => {lease}),
           attempt_started = false, next_attempt_at = NULL, enqueued_at = NULL,
           started_at = COALESCE(s.started_at, now()), updated_at = now()
      FROM done, execution
     WHERE execution.status = 'RUNNING' AND s.execution_id = {execution_id}
       AND s.position = {position} + 1 AND s.status = 'PENDING'
 RETURNING s.id AS step_id, s.execution_id, s.position, s.step_key, s.action, s.attempt,
           s.fencing_token, s.idempotency_key
), claimed_attempt AS (
    INSERT INTO execution_step_attempts (execution_step_id, attempt, fencing_token, worker)
    SELECT step_id, attempt, fencing_token, {worker} FROM claimed
)"""

_FINISH_RELEASE_NEXT = """, released AS (
    UPDATE execution_steps s
       SET next_attempt_at = now(), enqueued_at = now(), updated_at = now()
      FROM done, execution
     WHERE execution.status = 'RUNNING' AND s.execution_id = {execution_id}
       AND s.position = {position} + 1 AND s.status = 'PENDING'
 RETURNING s.id
)"""

_FINISH_TASK = """, task AS (
    INSERT INTO human_tasks (execution_id, execution_step_id, department_id, title,
                             description, assignee_role, reviewer_role, form, due_at)
    SELECT done.execution_id, done.id, {department},
           COALESCE({task} ->> 'title', 'Task'),
           COALESCE({task} ->> 'description', ''),
           {task} ->> 'assignee_role', {task} ->> 'reviewer_role',
           COALESCE({task} -> 'form', '{{}}'::jsonb),
           now() + make_interval(secs => ({task} ->> 'due_in_seconds')::float8)
      FROM done JOIN execution ON execution.id = done.execution_id
    ON CONFLICT (execution_step_id) DO NOTHING
)"""

_FINISH_AUDIT = """, audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, {department}, a.reason, a.metadata
      FROM done,
           unnest({a_action}, {a_entity_type}, {a_entity_id}, {a_reason}, {a_metadata})
             AS a(action, entity_type, entity_id, reason, metadata)"""

_FINISH_AUDIT_STARTED = """
    UNION ALL
    SELECT 'WORKFLOW_EXECUTION_STEP_STARTED', 'execution_step', claimed.step_id::text,
           {department}, NULL,
           jsonb_build_object('execution_id', claimed.execution_id, 'step', claimed.step_key,
                              'attempt', claimed.attempt)
      FROM claimed"""


@functools.cache
def _finish_statement(
    update_execution: bool, claim_next: bool, release_next: bool, human_task: bool
) -> tuple[str, tuple[str, ...]]:
    """The finish statement for one shape of decision, and the parameters it takes (in order).

    Only the parts a decision needs are in its statement: a smaller plan is cheaper to start
    and to run, and every shape is still one statement (one transaction, one round trip)."""
    sql = _FINISH_DONE
    sql += _FINISH_EXECUTION_UPDATE if update_execution else _FINISH_EXECUTION_LOCK
    if claim_next:
        sql += _FINISH_CLAIM_NEXT
    if release_next:
        sql += _FINISH_RELEASE_NEXT
    if human_task:
        sql += _FINISH_TASK
    sql += _FINISH_AUDIT
    if claim_next:
        sql += _FINISH_AUDIT_STARTED
    sql += "\n)\nSELECT done.id IS NOT NULL AS applied, execution.status AS execution_status"
    sql += ", released.id AS released_id" if release_next else ", NULL::uuid AS released_id"
    if claim_next:
        sql += ", claimed.*"
    sql += "\n  FROM (VALUES (1)) AS one\n  LEFT JOIN done ON true\n  LEFT JOIN execution ON true"
    if release_next:
        sql += "\n  LEFT JOIN released ON true"
    if claim_next:
        sql += "\n  LEFT JOIN claimed ON true"
    used = tuple(name for name in _FINISH_PARAMS if "{" + name + "}" in sql)
    placeholders = {
        name: f"${used.index(name) + 1}::{_FINISH_PARAMS[name]}" if name in used else ""
        for name in _FINISH_PARAMS
    }
    return sql.format(**placeholders), used


_TAKE_EXPIRED = f"""
WITH expired AS (
    SELECT s.id FROM execution_steps s
     WHERE s.status = 'RUNNING' AND s.lease_expires_at < now()
     ORDER BY s.lease_expires_at
     LIMIT $3
       FOR UPDATE SKIP LOCKED
), taken AS (
    UPDATE execution_steps s
       SET fencing_token = s.fencing_token + 1, lease_owner = $1,
           lease_expires_at = now() + make_interval(secs => $2), updated_at = now()
      FROM expired
     WHERE s.id = expired.id
 RETURNING {_CLAIMED_COLUMNS}, s.attempt_started, s.idempotency, s.params::text AS params
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
     WHERE p.status = 'PENDING' AND p.next_attempt_at <= now()
       AND (p.enqueued_at IS NULL OR p.enqueued_at < now() - make_interval(secs => $1))
       AND (SELECT e.status FROM executions e WHERE e.id = p.execution_id)
           IN ('PENDING', 'RUNNING')
     ORDER BY p.next_attempt_at
     LIMIT $2
       FOR UPDATE OF p SKIP LOCKED)
RETURNING s.id
"""


def _claimed(row: Mapping[str, Any]) -> ClaimedStep:
    return ClaimedStep(
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
        queue_lag_seconds=max(0.0, float(row["lag"] or 0.0)),
    )


def _json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else _encode(value).decode()


def _step(claim: ClaimedStep, statement: str) -> Callable[[], str]:
    """Names a statement and its step for the log, built only when a connection is lost."""
    return lambda: (
        f"{statement} of step {claim.step_key} (step {claim.step_id}, execution "
        f"{claim.execution_id}, attempt {claim.attempt}, token {claim.fencing_token})"
    )


class PgStepStore:
    """The ``StepStore`` port over an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._pool = pool
        self._db = Resilient(pool, policy)
        self._grants = Grants()

    async def claim(
        self, step_id: UUID, worker: str, lease: timedelta
    ) -> tuple[ClaimedStep, ExecutionContext] | None:
        runs = 0

        async def claim_step(conn: asyncpg.Connection) -> asyncpg.Record | None:
            nonlocal runs
            runs += 1
            return await conn.fetchrow(_CLAIM, step_id, worker, lease.total_seconds())

        def what() -> str:
            return f"claim of step {step_id} for {worker}"

        row = await self._db.run(claim_step, what)
        if row is None and runs > 1:  # the first run may have committed unseen
            row = await self._db.run(lambda conn: conn.fetchrow(CLAIMED_BY, step_id, worker), what)
        if row is None:
            return None
        claim = _claimed(row)
        if not self._grants.take(claim.step_id, claim.fencing_token):
            return None  # another call of this process was handed this claim
        return claim, ExecutionContext(
            execution_id=claim.execution_id,
            workflow_name=row["workflow_name"],
            inputs=_decode(row["inputs"]),
            steps=_decode(row["steps"]) if row["steps"] else {},
        )

    async def mark_attempt_started(
        self, claim: ClaimedStep, idempotency: str, params: Mapping[str, Any]
    ) -> bool:
        status = await self._db.run(
            lambda conn: conn.execute(
                _MARK_STARTED, claim.step_id, claim.fencing_token, idempotency, _json(params)
            ),
            _step(claim, "marking the attempt start"),
        )
        return bool(status == "UPDATE 1")

    async def extend_lease(self, claim: ClaimedStep, lease: timedelta) -> bool:
        status = await self._db.run(
            lambda conn: conn.execute(
                _EXTEND, claim.step_id, claim.fencing_token, lease.total_seconds()
            ),
            _step(claim, "lease renewal"),
        )
        return bool(status == "UPDATE 1")

    async def finish(
        self, claim: ClaimedStep, finish: StepFinish, worker: str, lease: timedelta
    ) -> FinishResult:
        execution_error = _json(finish.error) if finish.execution_status == "FAILED" else None
        sql, names = _finish_statement(
            finish.execution_status is not None or execution_error is not None,
            finish.claim_next,
            finish.release_next,
            finish.human_task is not None,
        )
        audit = finish.audit
        output = _json(finish.output)
        error = _json(finish.error)
        values: dict[str, Any] = {
            "step_id": claim.step_id,
            "token": claim.fencing_token,
            "execution_id": claim.execution_id,
            "position": claim.position,
            "status": finish.step_status,
            "output": output,
            "error": error,
            "outcome": finish.outcome,
            "retry_in": (
                max(0.0, finish.retry_in.total_seconds()) if finish.retry_in is not None else 0.0
            ),
            "wait_reason": finish.wait_reason,
            "department": claim.department_id,
            "a_action": [e.action for e in audit],
            "a_entity_type": [e.entity_type for e in audit],
            "a_entity_id": [e.entity_id for e in audit],
            "a_reason": [e.reason for e in audit],
            "a_metadata": [_encode(dict(e.metadata)).decode() for e in audit],
            "exec_status": finish.execution_status,
            "exec_error": execution_error,
            "worker": worker,
            "lease": lease.total_seconds(),
            "task": _json(finish.human_task),
        }
        args = [values[name] for name in names]
        runs = 0

        async def finish_step(conn: asyncpg.Connection) -> Mapping[str, Any] | None:
            nonlocal runs
            runs += 1
            result: Mapping[str, Any] | None = await conn.fetchrow(sql, *args)
            return result

        what = _step(claim, "finish")
        row = await self._db.run(finish_step, what)
        assert row is not None
        if not row["applied"] and runs > 1:  # the first run may have committed unseen
            row = await self._db.run(lambda c: finish_outcome(c, claim, finish, worker), what)
            if row["applied"]:
                log.warning("%s had been recorded before its connection was lost", what())
        next_claim = None
        if finish.claim_next and row["step_id"] is not None:
            next_claim = ClaimedStep(
                step_id=row["step_id"],
                execution_id=row["execution_id"],
                workflow_version_id=claim.workflow_version_id,
                department_id=claim.department_id,
                position=row["position"],
                step_key=row["step_key"],
                action=row["action"],
                attempt=row["attempt"],
                fencing_token=row["fencing_token"],
                idempotency_key=row["idempotency_key"],
            )
            if not self._grants.take(next_claim.step_id, next_claim.fencing_token):
                next_claim = None
        return FinishResult(
            applied=row["applied"],
            execution_status=row["execution_status"],
            next_claim=next_claim,
            released_step_id=row["released_id"],
        )

    async def record_audit(self, entries: Sequence[AuditEntry]) -> None:
        await self._db.run(lambda conn: append_audit(conn, list(entries)), lambda: "audit")

    async def take_expired(self, worker: str, lease: timedelta, limit: int) -> list[ExpiredStep]:
        rows = await self._db.run(
            lambda conn: conn.fetch(_TAKE_EXPIRED, worker, lease.total_seconds(), limit),
            lambda: "taking expired leases",
        )
        return [
            ExpiredStep(
                claim=_claimed({**dict(row), "lag": 0.0}),
                execution_status=row["execution_status"],
                attempt_started=row["attempt_started"],
                idempotency=row["idempotency"],
                params=_decode(row["params"]) if row["params"] else None,
            )
            for row in rows
        ]

    async def due_unclaimed(self, resend_after: timedelta, limit: int) -> list[UUID]:
        rows = await self._db.run(
            lambda conn: conn.fetch(_DUE_UNCLAIMED, resend_after.total_seconds(), limit),
            lambda: "finding unclaimed steps",
        )
        return [row["id"] for row in rows]
