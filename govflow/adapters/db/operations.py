"""The execution locked for an operator action (``SELECT ... FOR UPDATE``), and the operator's
decision carried out in the same transaction: the named queries of ``sql/operations.sql``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.queries import load_queries
from govflow.core.audit_events import AuditEvent
from govflow.core.idempotency import Idempotency
from govflow.core.statuses import ExecutionStatus, HumanTaskStatus, StepStatus
from govflow.usecases.audit import AuditEntry
from govflow.usecases.errors import ConflictError
from govflow.usecases.operate import ExecutionChange, ExecutionSnapshot, StepSnapshot
from govflow.usecases.tasks import HUMAN_TASK

QUERIES = load_queries("operations.sql")


def _json(value: object) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


class _Locked:
    def __init__(self, conn: asyncpg.Connection, snapshot: ExecutionSnapshot) -> None:
        self._conn = conn
        self.snapshot = snapshot

    async def _run(self, name: str, **values: object) -> str:
        query = QUERIES[name]
        status: str = await self._conn.execute(query.sql, *query.args(values))
        return status

    async def _cancel_task(self, step_id: UUID, change: ExecutionChange) -> list[AuditEntry]:
        query = QUERIES["cancel_human_task"]
        rows = await self._conn.fetch(query.sql, *query.args({"step_id": step_id}))
        return [
            AuditEntry(
                action=AuditEvent.HUMAN_TASK_CANCELED,
                actor=change.actor,
                entity_type=HUMAN_TASK,
                entity_id=str(row["id"]),
                department_id=row["department_id"],
                reason=change.reason,
                metadata={
                    "execution_id": str(self.snapshot.execution_id),
                    "from": row["previous"],
                    "to": HumanTaskStatus.CANCELED.value,
                },
            )
            for row in rows
        ]

    async def apply(self, change: ExecutionChange) -> None:
        tasks: list[AuditEntry] = []
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
                tasks.extend(await self._cancel_task(step.step_id, change))
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
        await append_audit(self._conn, [*change.audit, *tasks])


class PgExecutionControl:
    """The ``ExecutionControl`` port."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @contextlib.asynccontextmanager
    async def locked(
        self, execution_id: UUID, department_scope: UUID | None
    ) -> AsyncIterator[_Locked | None]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield await lock_execution(conn, execution_id, department_scope)


async def lock_execution(
    conn: asyncpg.Connection, execution_id: UUID, department_scope: UUID | None
) -> _Locked | None:
    """The execution and its steps locked in ``conn``'s transaction (``None``: not found)."""
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
    return _Locked(conn, snapshot)
