"""The ``TaskStore`` port over PostgreSQL: a human task read as the lifecycle's
:class:`~govflow.core.tasks.model.TaskState`, and a decision written only over the version it
was decided on (``sql/tasks.sql``), in the transaction that also locks the task's execution and
carries out the engine's decision for its step."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.audit_logs import audit_view
from govflow.adapters.db.crud import paged
from govflow.adapters.db.engine import Database
from govflow.adapters.db.operations import lock_execution
from govflow.adapters.db.queries import load_queries
from govflow.adapters.db.tables import AuditLog, Department, User
from govflow.adapters.db.task_deadlines import enqueue_notices
from govflow.adapters.db.task_rows import json_value, stored_task
from govflow.core.roles import Role
from govflow.core.tasks.model import Party, TaskState, TaskUser
from govflow.core.tasks.notices import Notice
from govflow.core.tasks.vocabulary import TaskStatus
from govflow.usecases.audit import AuditEntry
from govflow.usecases.audit_logs import AuditLogView
from govflow.usecases.errors import ConflictError
from govflow.usecases.operate import LockedExecution
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal
from govflow.usecases.task_notifications import NoticeMetrics
from govflow.usecases.task_ports import StoredTask, TaskFilter, TaskRecord
from govflow.usecases.tasks import HUMAN_TASK

QUERIES = load_queries("tasks.sql")
log = logging.getLogger("govflow.tasks.notifications")
_AUDIT_COLUMNS = [getattr(AuditLog, name) for name in AuditLogView.__struct_fields__]
"""The audit columns a task's audit log shows (those of ``GET /audit-logs``)."""


def _encoded(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


class _Unit:
    """One decision's transaction on a task."""

    def __init__(
        self, conn: asyncpg.Connection, task: StoredTask, execution: LockedExecution | None
    ) -> None:
        self._conn = conn
        self.task = task
        self.execution = execution

    async def write(self, after: TaskState, decision: str | None, audit: list[AuditEntry]) -> None:
        query = QUERIES["write_task"]
        status = await self._conn.execute(
            query.sql,
            *query.args(
                {
                    "task_id": after.id,
                    "from_version": self.task.state.version,
                    "status": after.status.value,
                    "assignee_id": after.assignee_id,
                    "offer_role": None if after.offer.role is None else after.offer.role.value,
                    "offer_department_id": after.offer.department_id,
                    "offer_users": _encoded([str(user) for user in after.offer.users]),
                    "submission": _encoded(
                        None if after.submission is None else dict(after.submission)
                    ),
                    "submitted_by": after.submitted_by,
                    "submitted_at": after.submitted_at,
                    "approvals": _encoded(list(after.approvals)),
                    "rejections": after.rejections,
                    "rejection_reason": after.rejection_reason,
                    "decision": decision,
                    "decided_by": after.decided_by,
                    "decided_at": after.decided_at,
                    "due_at": after.due_at,
                    "overdue": after.overdue,
                    "escalated": after.escalated,
                    "version": after.version,
                }
            ),
        )
        if status != "UPDATE 1":
            raise ConflictError("the task was changed by another decision; read it again")
        await append_audit(self._conn, audit)

    async def edit(self, after: TaskState, description: str, audit: list[AuditEntry]) -> None:
        query = QUERIES["edit_task"]
        status = await self._conn.execute(
            query.sql,
            *query.args(
                {
                    "task_id": after.id,
                    "from_version": self.task.state.version,
                    "title": after.title,
                    "description": description,
                    "due_at": after.due_at,
                    "overdue": after.overdue,
                    "version": after.version,
                }
            ),
        )
        if status != "UPDATE 1":
            raise ConflictError("the task was changed by another decision; read it again")
        await append_audit(self._conn, audit)

    async def enqueue(self, notices: list[Notice]) -> None:
        async with self._conn.transaction():  # a savepoint: a failure leaves the decision
            await enqueue_notices(self._conn, notices)


def _list_values(
    scope: UUID | None, caller: Principal, wanted: TaskFilter, page: PageRequest
) -> dict[str, Any]:
    """The parameters of ``list_tasks``."""
    return {
        "deleted": TaskStatus.DELETED.value,
        "open": TaskStatus.OPEN.value,
        "submitted": TaskStatus.SUBMITTED.value,
        "active": [status.value for status in TaskStatus.ACTIVE],
        "scope": scope,
        "statuses": [status.value for status in wanted.statuses],
        "execution_id": wanted.execution_id,
        "workflow_id": wanted.workflow_id,
        "department_id": wanted.department_id,
        "overdue": wanted.overdue,
        "mine": wanted.assigned_to_me,
        "eligible": wanted.eligible_for_me,
        "caller": caller.user_id,
        "caller_json": _encoded([str(caller.user_id)]),
        "approved_json": _encoded([{"by": str(caller.user_id)}]),
        "caller_department": caller.department_id,
        "role": caller.role.value,
        "is_admin": caller.role == Role.ADMIN,
        "limit": page.limit,
        "offset": page.offset,
    }


class PgTaskStore:
    """The ``TaskStore`` port."""

    def __init__(self, db: Database, notice_metrics: NoticeMetrics | None = None) -> None:
        self._db = db
        self._pool = db.pool
        self.notice_metrics = notice_metrics or NoticeMetrics()

    async def record(self, entries: list[AuditEntry]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await append_audit(conn, entries)

    async def records(self, task_id: UUID) -> list[TaskRecord]:
        query = QUERIES["task_records"]
        rows = await self._pool.fetch(
            query.sql, *query.args({"task_id": str(task_id), "entity_type": HUMAN_TASK})
        )
        return [
            TaskRecord(
                action=row["action"],
                actor_id=row["actor_id"],
                actor_email=row["actor_email"],
                at=row["occurred_at"],
                reason=row["reason"],
                data=json_value(row["metadata"]) or {},
            )
            for row in rows
        ]

    async def person(self, user_id: UUID) -> TaskUser | None:
        rows = await self._db.run(
            User.select(User.id, User.role, User.department_id, User.is_active).where(
                User.id == user_id
            )
        )
        if not rows:
            return None
        row = rows[0]
        return TaskUser(
            user_id=row["id"],
            role=Role(row["role"]),
            department_id=row["department_id"],
            active=row["is_active"],
        )

    async def known_users(self, user_ids: list[UUID]) -> set[UUID]:
        if not user_ids:
            return set()
        rows = await self._db.run(User.select(User.id).where(User.id.is_in(user_ids)))
        return {row["id"] for row in rows}

    async def department_exists(self, department_id: UUID) -> bool:
        return bool(await self._db.run(Department.exists().where(Department.id == department_id)))

    async def new_task_id(self) -> UUID:
        query = QUERIES["new_task_id"]
        task_id: UUID = await self._pool.fetchval(query.sql)
        return task_id

    async def insert(
        self, task: StoredTask, audit: list[AuditEntry], notices: list[Notice] | None = None
    ) -> None:
        state = task.state
        policy = state.policy
        reviewers = policy.reviewers or Party()
        query = QUERIES["insert_task"]
        values = {
            "task_id": state.id,
            "department_id": state.department_id,
            "title": state.title,
            "description": task.description,
            "status": state.status.value,
            "assignee_id": state.assignee_id,
            "assignee_role": None if state.offer.role is None else state.offer.role.value,
            "offer_department_id": state.offer.department_id,
            "offer_users": _encoded([str(user) for user in state.offer.users]),
            "reviewer_role": None if reviewers.role is None else reviewers.role.value,
            "reviewer_department_id": reviewers.department_id,
            "reviewer_users": _encoded([str(user) for user in reviewers.users]),
            "approvals_required": policy.approvals,
            "on_reject": policy.on_reject.value,
            "escalate_to": _encoded(policy.escalate_to),
            "form": _encoded(dict(policy.form)),
            "notify": _encoded(list(policy.notify)) if policy.notify else None,
            "due_at": state.due_at,
            "created_by": state.created_by,
            "version": state.version,
        }
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(query.sql, *query.args(values))
            await append_audit(conn, audit)
            if notices:
                await self._store_notices(conn, notices)

    async def _store_notices(self, conn: asyncpg.Connection, notices: list[Notice]) -> None:
        """Store a new task's notices on a savepoint: a failure is logged and counted, and the
        task is stored all the same."""
        try:
            async with conn.transaction():
                await enqueue_notices(conn, notices)
        except (asyncpg.PostgresError, OSError):
            whys = sorted({notice.why for notice in notices})
            log.exception("the %s notices of task %s were not stored", whys, notices[0].task_id)
            for why in whys:
                self.notice_metrics.not_stored(why)

    async def audit_logs(self, task_id: UUID, page: PageRequest) -> tuple[list[AuditLogView], int]:
        where = [AuditLog.entity_type == HUMAN_TASK, AuditLog.entity_id == str(task_id)]
        rows, total = await paged(
            self._db,
            AuditLog.select(*_AUDIT_COLUMNS)
            .where(*where)
            .order_by(AuditLog.occurred_at, AuditLog.id, ascending=False),
            AuditLog.count().where(*where),
            page,
        )
        return [audit_view(row) for row in rows], total

    async def search(
        self, scope: UUID | None, caller: Principal, wanted: TaskFilter, page: PageRequest
    ) -> tuple[list[StoredTask], int]:
        query = QUERIES["list_tasks"]
        values = _list_values(scope, caller, wanted, page)
        rows = await self._pool.fetch(query.sql, *query.args(values))
        if not rows and page.offset > 0:
            first = await self._pool.fetch(query.sql, *query.args({**values, "offset": 0}))
            return [], int(first[0]["total"]) if first else 0
        return [stored_task(row) for row in rows], int(rows[0]["total"]) if rows else 0

    async def _read(self, conn: asyncpg.Connection, task_id: UUID) -> StoredTask | None:
        query = QUERIES["read_task"]
        row = await conn.fetchrow(query.sql, *query.args({"task_id": task_id}))
        return None if row is None else stored_task(row)

    async def get(self, task_id: UUID) -> StoredTask | None:
        async with self._pool.acquire() as conn:
            return await self._read(conn, task_id)

    @contextlib.asynccontextmanager
    async def deciding(self, task_id: UUID) -> AsyncIterator[_Unit | None]:
        async with self._pool.acquire() as conn, conn.transaction():
            task = await self._read(conn, task_id)
            if task is None:
                yield None
                return
            execution = None
            if task.execution_id is not None:
                execution = await lock_execution(conn, task.execution_id, None)
            yield _Unit(conn, task, execution)
