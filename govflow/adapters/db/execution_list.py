"""Reading executions for the API: lists, detail, steps with attempts, queue state, runnable
steps. Every query is restricted to a department scope in SQL (``None``: every department);
the lists, details and steps also to a ``viewer`` when one is given: the executions that user
started, or has a task assigned in (an OPERATOR's reads).
Rows become the views through ``msgspec.convert``, so a status read is its enum member.

The statuses the queries ask about are parameters bound from the enums' named groups: these
lookups go through one execution's rows, so no partial index depends on a spelled-out value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.audit import append_audit
from govflow.core.spec import OUTPUTS_ACTION
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.usecases.audit import AuditEntry
from govflow.usecases.execution_views import (
    AttemptView,
    ExecutionFilter,
    ExecutionSummary,
    ExecutionView,
    JobView,
    RunnableSteps,
    StepDetail,
    StepView,
)
from govflow.usecases.paging import Page, PageRequest

_LIST = """
SELECT e.id, e.workflow_id, w.name AS workflow, v.version AS workflow_version, e.department_id,
       e.status, e.idempotency_key, e.created_by, e.created_at, e.started_at, e.finished_at,
       count(*) OVER () AS total
  FROM executions e
  JOIN workflows w ON w.id = e.workflow_id
  JOIN workflow_versions v ON v.id = e.workflow_version_id
 WHERE ($1::uuid IS NULL OR e.department_id = $1)
   AND ($2::text IS NULL OR e.status = $2)
   AND ($3::uuid IS NULL OR e.workflow_id = $3)
   AND ($4::text IS NULL OR w.name = $4)
   AND ($5::uuid IS NULL OR e.department_id = $5)
   AND ($6::timestamptz IS NULL OR e.created_at >= $6)
   AND ($7::timestamptz IS NULL OR e.created_at <= $7)
   AND ($8::uuid IS NULL OR e.created_by = $8 OR EXISTS (
        SELECT 1 FROM human_tasks t WHERE t.execution_id = e.id AND t.assignee_id = $8))
 ORDER BY e.created_at DESC, e.id LIMIT $9 OFFSET $10
"""
_COUNT = """
SELECT count(*)
  FROM executions e
  JOIN workflows w ON w.id = e.workflow_id
 WHERE ($1::uuid IS NULL OR e.department_id = $1)
   AND ($2::text IS NULL OR e.status = $2)
   AND ($3::uuid IS NULL OR e.workflow_id = $3)
   AND ($4::text IS NULL OR w.name = $4)
   AND ($5::uuid IS NULL OR e.department_id = $5)
   AND ($6::timestamptz IS NULL OR e.created_at >= $6)
   AND ($7::timestamptz IS NULL OR e.created_at <= $7)
   AND ($8::uuid IS NULL OR e.created_by = $8 OR EXISTS (
        SELECT 1 FROM human_tasks t WHERE t.execution_id = e.id AND t.assignee_id = $8))
"""
"""The filter of :data:`_LIST`, counted: run only for a page beyond the last."""
_DETAIL = """
SELECT e.id, e.workflow_id, w.name AS workflow, v.version AS workflow_version, e.department_id,
       e.status, e.idempotency_key, e.created_by, e.created_at, e.started_at, e.finished_at,
       e.inputs::text AS inputs, e.error::text AS error, e.vars::text AS vars,
       (SELECT coalesce(json_agg(json_build_object(
            'id', s.id, 'position', s.position, 'step_key', s.step_key, 'action', s.action,
            'status', s.status, 'attempt', s.attempt, 'max_attempts', s.max_attempts,
            'output', s.output, 'error', s.error, 'next_attempt_at', s.next_attempt_at,
            'started_at', s.started_at, 'finished_at', s.finished_at,
            'wait_reason', s.wait_reason, 'progress', s.progress,
            'progress_at', s.progress_at, 'due_at', s.wake_at, 'child_execution_id',
            (SELECT c.id FROM executions c WHERE c.parent_step_id = s.id))
            ORDER BY s.position), '[]')::text
          FROM execution_steps s WHERE s.execution_id = e.id) AS steps,
       e.parent_execution_id, e.parent_step_id,
       (SELECT ps.step_key FROM execution_steps ps WHERE ps.id = e.parent_step_id)
         AS parent_step_key
  FROM executions e
  JOIN workflows w ON w.id = e.workflow_id
  JOIN workflow_versions v ON v.id = e.workflow_version_id
 WHERE e.id = $1 AND ($2::uuid IS NULL OR e.department_id = $2)
   AND ($3::uuid IS NULL OR e.created_by = $3 OR EXISTS (
        SELECT 1 FROM human_tasks t WHERE t.execution_id = e.id AND t.assignee_id = $3))
"""
_STEPS = """
SELECT s.id, s.position, s.step_key, s.action, s.status, s.attempt, s.max_attempts,
       s.output::text AS output, s.error::text AS error, s.next_attempt_at, s.started_at,
       s.finished_at, s.wait_reason, s.progress::text AS progress, s.progress_at,
       s.wake_at AS due_at,
       (SELECT c.id FROM executions c WHERE c.parent_step_id = s.id) AS child_execution_id
  FROM execution_steps s JOIN executions e ON e.id = s.execution_id
 WHERE s.execution_id = $1 AND ($2::uuid IS NULL OR e.department_id = $2)
   AND ($3::uuid IS NULL OR e.created_by = $3 OR EXISTS (
        SELECT 1 FROM human_tasks t WHERE t.execution_id = e.id AND t.assignee_id = $3))
 ORDER BY s.position
"""
_VISIBLE = """
SELECT 1 FROM executions e
 WHERE e.id = $1 AND ($2::uuid IS NULL OR e.department_id = $2)
   AND ($3::uuid IS NULL OR e.created_by = $3 OR EXISTS (
        SELECT 1 FROM human_tasks t WHERE t.execution_id = e.id AND t.assignee_id = $3))
"""
_ATTEMPTS = """
SELECT execution_step_id, attempt, fencing_token, worker, started_at, finished_at, outcome,
       output::text AS output, error::text AS error
  FROM execution_step_attempts WHERE execution_step_id = ANY($1::uuid[])
 ORDER BY execution_step_id, attempt, id
"""
_JOB = """
SELECT e.id AS execution_id, e.status AS execution_status, s.id AS step_id, s.step_key,
       s.status AS step_status, s.attempt, s.max_attempts, s.next_attempt_at, s.enqueued_at,
       s.lease_owner, s.lease_expires_at, s.updated_at,
       coalesce(s.status = $3 AND s.lease_expires_at < now(), false) AS lease_expired,
       coalesce(s.next_attempt_at > now(), false) AS delayed
  FROM executions e
  LEFT JOIN LATERAL (
        SELECT * FROM execution_steps x WHERE x.execution_id = e.id
         ORDER BY (x.status = ANY($4::text[])), x.position LIMIT 1) s ON true
 WHERE e.id = $1 AND ($2::uuid IS NULL OR e.department_id = $2)
"""
_RUNNABLE = """
SELECT e.status,
       coalesce(array_agg(s.id ORDER BY s.position)
                FILTER (WHERE s.id IS NOT NULL), '{}') AS step_ids
  FROM executions e
  LEFT JOIN execution_steps s ON s.execution_id = e.id AND s.status = $3
       AND s.next_attempt_at IS NOT NULL AND e.status = ANY($4::text[])
 WHERE e.id = $1 AND ($2::uuid IS NULL OR e.department_id = $2)
 GROUP BY e.id
"""
_STEP_DONE = sorted(StepStatus.DONE)
_EXECUTION_RUNNABLE = sorted(ExecutionStatus.RUNNABLE)


def _json(text: str | None) -> Any:
    return msgspec.json.decode(text) if text else None


def _summary(row: asyncpg.Record) -> ExecutionSummary:
    return msgspec.convert(
        {k: row[k] for k in ExecutionSummary.__struct_fields__}, ExecutionSummary
    )


def _step(row: asyncpg.Record) -> StepView:
    data = dict(row)
    data["output"], data["error"] = _json(data["output"]), _json(data["error"])
    data["progress"] = _json(data["progress"])
    return msgspec.convert(data, StepView)


async def list_executions(
    conn: asyncpg.Connection,
    where: ExecutionFilter,
    page: PageRequest,
    scope: UUID | None,
    viewer: UUID | None = None,
) -> Page[ExecutionSummary]:
    """One page of executions, newest first (only ``viewer``'s when given)."""
    args = (
        scope,
        where.status.value if where.status else None,
        where.workflow_id,
        where.workflow,
        where.department_id,
        where.created_from,
        where.created_to,
        viewer,
    )
    rows = await conn.fetch(_LIST, *args, page.limit, page.offset)
    total = rows[0]["total"] if rows else int(await conn.fetchval(_COUNT, *args))
    return Page(items=[_summary(row) for row in rows], total=total, request=page)


async def execution_view(
    conn: asyncpg.Connection, execution_id: UUID, scope: UUID | None, viewer: UUID | None = None
) -> ExecutionView | None:
    """The execution and its steps, in one statement."""
    row = await conn.fetchrow(_DETAIL, execution_id, scope, viewer)
    if row is None:
        return None
    data = {k: row[k] for k in ExecutionSummary.__struct_fields__}
    data["inputs"] = _json(row["inputs"]) or {}
    data["error"] = _json(row["error"])
    data["steps"] = steps = msgspec.json.decode(row["steps"], type=list[StepView])
    data["vars"] = _json(row["vars"]) or {}
    if row["parent_execution_id"] is not None:
        data["parent"] = {
            "execution_id": row["parent_execution_id"],
            "step_id": row["parent_step_id"],
            "step_key": row["parent_step_key"],
        }
    data["outputs"] = next(
        (
            step.output
            for step in steps
            if step.action == OUTPUTS_ACTION and step.status is StepStatus.COMPLETED
        ),
        None,
    )
    return msgspec.convert(data, ExecutionView)


async def steps_with_attempts(
    conn: asyncpg.Connection, execution_id: UUID, scope: UUID | None, viewer: UUID | None = None
) -> list[StepDetail] | None:
    """The execution's steps, each with its attempts; ``None`` when not in the scope."""
    rows = await conn.fetch(_STEPS, execution_id, scope, viewer)
    if not rows and await conn.fetchval(_VISIBLE, execution_id, scope, viewer) is None:
        return None
    attempts: dict[UUID, list[AttemptView]] = {row["id"]: [] for row in rows}
    for attempt in await conn.fetch(_ATTEMPTS, list(attempts)):
        data = dict(attempt)
        step_id = data.pop("execution_step_id")
        data["output"], data["error"] = _json(data["output"]), _json(data["error"])
        attempts[step_id].append(msgspec.convert(data, AttemptView))
    return [StepDetail(step=_step(row), attempts=attempts[row["id"]]) for row in rows]


def _state(row: asyncpg.Record) -> str:
    if (
        row["step_status"] is None
        or ExecutionStatus(row["execution_status"]) in ExecutionStatus.TERMINAL
    ):
        return "finished"
    step_status: str = row["step_status"]
    if step_status == StepStatus.PENDING:
        return "scheduled" if row["delayed"] else "pending"
    return step_status.lower()


async def job_status(
    conn: asyncpg.Connection, execution_id: UUID, scope: UUID | None, queue: str
) -> JobView | None:
    """Where the execution's current step stands in the queue."""
    row = await conn.fetchrow(_JOB, execution_id, scope, StepStatus.RUNNING, _STEP_DONE)
    if row is None:
        return None
    fields = {k: row[k] for k in JobView.__struct_fields__ if k not in ("state", "queue")}
    return msgspec.convert({**fields, "state": _state(row), "queue": queue}, JobView)


async def runnable_steps(
    conn: asyncpg.Connection, execution_id: UUID, scope: UUID | None
) -> RunnableSteps | None:
    """The execution's status and its PENDING steps that have been made runnable."""
    row = await conn.fetchrow(
        _RUNNABLE, execution_id, scope, StepStatus.PENDING, _EXECUTION_RUNNABLE
    )
    if row is None:
        return None
    return msgspec.convert(
        {"execution_status": row["status"], "step_ids": list(row["step_ids"])}, RunnableSteps
    )


class PgExecutionReader:
    """The ``ExecutionReader`` port over the pool (one connection per call)."""

    def __init__(self, pool: asyncpg.Pool, queue_name: str) -> None:
        self._pool = pool
        self._queue_name = queue_name

    async def search(
        self,
        where: ExecutionFilter,
        page: PageRequest,
        scope: UUID | None,
        viewer: UUID | None = None,
    ) -> Page[ExecutionSummary]:
        async with self._pool.acquire() as conn:
            return await list_executions(conn, where, page, scope, viewer)

    async def get(
        self, execution_id: UUID, scope: UUID | None, viewer: UUID | None = None
    ) -> ExecutionView | None:
        async with self._pool.acquire() as conn:
            return await execution_view(conn, execution_id, scope, viewer)

    async def steps(
        self, execution_id: UUID, scope: UUID | None, viewer: UUID | None = None
    ) -> list[StepDetail] | None:
        async with self._pool.acquire() as conn:
            return await steps_with_attempts(conn, execution_id, scope, viewer)

    async def job(self, execution_id: UUID, scope: UUID | None) -> JobView | None:
        async with self._pool.acquire() as conn:
            return await job_status(conn, execution_id, scope, self._queue_name)

    async def runnable(self, execution_id: UUID, scope: UUID | None) -> RunnableSteps | None:
        async with self._pool.acquire() as conn:
            return await runnable_steps(conn, execution_id, scope)

    async def record(self, entries: Sequence[AuditEntry]) -> None:
        async with self._pool.acquire() as conn:
            await append_audit(conn, list(entries))
