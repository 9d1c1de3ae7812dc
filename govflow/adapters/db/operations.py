"""The execution locked for an operator action (``SELECT ... FOR UPDATE``), and the operator's
decision carried out in the same transaction: the named queries of ``sql/operations.sql``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.queries import load_queries
from govflow.adapters.db.task_deadlines import enqueue_notices
from govflow.adapters.db.task_rows import stored_task
from govflow.core.idempotency import Idempotency
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.core.tasks.notices import Notice
from govflow.usecases.audit import AuditEntry
from govflow.usecases.errors import ConflictError
from govflow.usecases.operate import ExecutionChange, ExecutionSnapshot, StepSnapshot
from govflow.usecases.task_notifications import NoticeMetrics
from govflow.usecases.tasks import cancel_with_step

QUERIES = load_queries("operations.sql")
log = logging.getLogger("govflow.tasks.notifications")


def _now() -> datetime:
    return datetime.now(UTC)


def _json(value: object) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


class _Locked:
    def __init__(
        self, conn: asyncpg.Connection, snapshot: ExecutionSnapshot, metrics: NoticeMetrics
    ) -> None:
        self._conn = conn
        self.snapshot = snapshot
        self._metrics = metrics
        self._task_audit: list[AuditEntry] = []

    async def _run(self, name: str, **values: object) -> str:
        query = QUERIES[name]
        status: str = await self._conn.execute(query.sql, *query.args(values))
        return status

    async def _cancel_task(self, step: StepSnapshot | None, change: ExecutionChange) -> None:
        """The step's live task canceled by the lifecycle's decision, over the version read;
        its notices stored on a savepoint (a failure is logged and counted, never the cancel's)."""
        if step is None:
            return
        live = QUERIES["live_step_tasks"]
        for row in await self._conn.fetch(live.sql, *live.args({"step_id": step.step_id})):
            task = stored_task(row)
            ended = cancel_with_step(task, change.actor, change.reason, step.step_key, _now())
            write = QUERIES["end_step_task"]
            written = await self._conn.execute(
                write.sql,
                *write.args(
                    {
                        "task_id": task.state.id,
                        "from_version": task.state.version,
                        "status": ended.decision.state.status.value,
                        "version": ended.decision.state.version,
                    }
                ),
            )
            if written != "UPDATE 1":
                raise ConflictError(f"task {task.state.id} was changed by another decision")
            self._task_audit.extend(ended.audit)
            await self._store_notices(ended.notices)

    async def _store_notices(self, notices: list[Notice]) -> None:
        if not notices:
            return
        try:
            async with self._conn.transaction():
                await enqueue_notices(self._conn, notices)
        except (asyncpg.PostgresError, OSError):
            log.exception("the canceled notices of task %s were not stored", notices[0].task_id)
            self._metrics.not_stored("canceled")

    async def apply(self, change: ExecutionChange) -> None:
        steps = {s.step_id: s for s in self.snapshot.steps}
        self._task_audit = []
        for step in change.steps:
            output = msgspec.json.encode(step.output).decode() if step.output else None
            changed = await self._run(
                "change_step",
                step_id=step.step_id,
                from_status=step.from_status.value,
                status=step.status.value,
                output=output,
                error=_json(step.error),
                reset_attempts=step.reset_attempts,
                runnable_now=step.runnable_now,
                needs_left=step.needs_left,
            )
            if changed != "UPDATE 1":
                raise ConflictError(f"step {step.step_id} is no longer {step.from_status}")
            if step.cancel_human_task:
                await self._cancel_task(steps.get(step.step_id), change)
        if change.execution_status is not None or change.runnable_steps is not None:
            status = change.execution_status or change.execution_from
            changed = await self._run(
                "change_execution",
                execution_id=self.snapshot.execution_id,
                from_status=change.execution_from.value,
                status=status.value,
                error=_json(change.error),
                runnable_steps=change.runnable_steps,
            )
            if changed != "UPDATE 1":
                raise ConflictError(f"the execution is no longer {change.execution_from}")
        await append_audit(self._conn, [*change.audit, *self._task_audit])


class PgExecutionControl:
    """The ``ExecutionControl`` port."""

    def __init__(self, pool: asyncpg.Pool, metrics: NoticeMetrics | None = None) -> None:
        self._pool = pool
        self._metrics = metrics or NoticeMetrics()

    @contextlib.asynccontextmanager
    async def locked(
        self, execution_id: UUID, department_scope: UUID | None
    ) -> AsyncIterator[_Locked | None]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield await lock_execution(conn, execution_id, department_scope, self._metrics)


async def lock_execution(
    conn: asyncpg.Connection,
    execution_id: UUID,
    department_scope: UUID | None,
    metrics: NoticeMetrics | None = None,
) -> _Locked | None:
    """The execution and its steps locked in ``conn``'s transaction (``None``: not found);
    ``metrics`` counts the notices of canceled tasks that could not be stored."""
    lock = QUERIES["lock_execution"]
    row = await conn.fetchrow(
        lock.sql, *lock.args({"execution_id": execution_id, "department": department_scope})
    )
    if row is None:
        return None
    steps = QUERIES["lock_steps"]
    snapshot = ExecutionSnapshot(
        execution_id=row["id"],
        status=ExecutionStatus(row["status"]),
        department_id=row["department_id"],
        steps=[
            StepSnapshot(
                step_id=s["id"],
                position=s["position"],
                step_key=s["step_key"],
                status=StepStatus(s["status"]),
                attempt=s["attempt"],
                attempt_started=s["attempt_started"],
                idempotency=Idempotency(s["idempotency"]) if s["idempotency"] else None,
                continue_on_error=s["continue_on_error"],
                dependents=tuple(s["dependents"]) if s["dependents"] is not None else None,
                needs_left=s["needs_left"],
            )
            for s in await conn.fetch(steps.sql, *steps.args({"execution_id": execution_id}))
        ],
    )
    return _Locked(conn, snapshot, metrics or NoticeMetrics())
