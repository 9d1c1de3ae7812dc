"""What the human-task use cases need from storage: the task as stored, and a unit of work in
which one decision on it is carried out (with its execution locked when it belongs to a step)."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from govflow.core.statuses import HumanTaskStatus
from govflow.core.tasks.model import TaskState, TaskUser
from govflow.core.tasks.notices import Notice
from govflow.usecases.audit import AuditEntry
from govflow.usecases.audit_logs import AuditLogView
from govflow.usecases.operate import LockedExecution
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal
from govflow.usecases.task_notifications import NoticeMetrics


class StoredTask(msgspec.Struct, frozen=True, kw_only=True):
    """A task as stored: the lifecycle's state and where it belongs.

    :ivar execution_id: the execution of the ``manual`` step that opened it (``None`` for a
        standalone task).
    :ivar step_id: that step.
    :ivar decision: the word its decision recorded (``approved``, ``submitted``, ``rejected``).
    """

    state: TaskState
    execution_id: UUID | None
    step_id: UUID | None
    description: str = ""
    decision: str | None = None
    created_at: datetime | None = None


class TaskFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which tasks a list shows (every filter given must hold).

    :ivar assigned_to_me: only the caller's.
    :ivar eligible_for_me: only tasks the caller may act on next as someone other than their
        assignee: open tasks it may claim (offered to its role and/or department, or to it by
        name) and submitted ones it may review (a reviewer who is not the submitter, has not
        approved this submission and, under ``starter_cannot_approve``, did not start the
        execution).
    :ivar statuses: any of these statuses (none: every listed status).
    :ivar workflow_id: tasks of this workflow's executions.
    :ivar overdue: ``True``, only tasks still to be decided whose deadline passed; ``False``,
        only the others.
    """

    assigned_to_me: bool = False
    eligible_for_me: bool = False
    statuses: tuple[HumanTaskStatus, ...] = ()
    execution_id: UUID | None = None
    workflow_id: UUID | None = None
    department_id: UUID | None = None
    overdue: bool | None = None


class TaskRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One thing that happened to a task: a decision or a comment, by whom, when, why."""

    action: str
    actor_id: UUID | None
    actor_email: str | None
    at: datetime
    reason: str | None
    data: dict[str, object]


class TaskUnit(Protocol):
    """One decision's transaction: the task as read, its execution locked (a step's task)."""

    task: StoredTask
    execution: LockedExecution | None

    async def write(self, after: TaskState, decision: str | None, audit: list[AuditEntry]) -> None:
        """Write ``after`` over the version the task was read at, and the audit entries;
        ``ConflictError`` (nothing written) when another decision came first."""
        ...

    async def edit(self, after: TaskState, description: str, audit: list[AuditEntry]) -> None:
        """Write an edit's title, description and deadline over the version the task was read
        at, and the audit entries; ``ConflictError`` as :meth:`write`."""
        ...

    async def enqueue(self, notices: list[Notice]) -> None:
        """Store ``notices`` for sending, with the decision (one already stored is kept); on
        its own savepoint, so that a failure raised here leaves the decision writable."""
        ...


class TaskStore(Protocol):
    """Human tasks in storage.

    :ivar notice_metrics: where a failure to store a decision's notices is counted.
    """

    notice_metrics: NoticeMetrics

    def deciding(self, task_id: UUID) -> contextlib.AbstractAsyncContextManager[TaskUnit | None]:
        """A transaction for one decision on ``task_id`` (``None``: no such task)."""
        ...

    async def get(self, task_id: UUID) -> StoredTask | None:
        """The task, as stored."""
        ...

    async def record(self, entries: list[AuditEntry]) -> None:
        """Append audit entries about a task (a comment), in a transaction of their own."""
        ...

    async def records(self, task_id: UUID) -> list[TaskRecord]:
        """The task's audit records, oldest first."""
        ...

    async def person(self, user_id: UUID) -> TaskUser | None:
        """A user an action names (assign, delegate), as the lifecycle checks them."""
        ...

    async def known_users(self, user_ids: list[UUID]) -> set[UUID]:
        """Those of ``user_ids`` that name a user."""
        ...

    async def department_exists(self, department_id: UUID) -> bool:
        """Whether ``department_id`` names a department."""
        ...

    async def new_task_id(self) -> UUID:
        """A fresh, time-ordered id for a task about to be opened."""
        ...

    async def insert(
        self, task: StoredTask, audit: list[AuditEntry], notices: list[Notice] | None = None
    ) -> None:
        """Store a new standalone task and its audit entries, in one transaction, and its
        ``notices`` on a savepoint of it: a failure to store them is logged and counted
        (``notice_metrics``), and the task is stored all the same."""
        ...

    async def audit_logs(self, task_id: UUID, page: PageRequest) -> tuple[list[AuditLogView], int]:
        """A page of the task's audit rows, newest first, and how many there are."""
        ...

    async def search(
        self, scope: UUID | None, caller: Principal, wanted: TaskFilter, page: PageRequest
    ) -> tuple[list[StoredTask], int]:
        """A page of the tasks in ``scope`` (every department: ``None``) that ``wanted`` keeps,
        newest first, soft-deleted ones left out; and how many there are in all."""
        ...
