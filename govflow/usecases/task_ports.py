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
from govflow.usecases.audit import AuditEntry
from govflow.usecases.operate import LockedExecution
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal


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
    """Which tasks a list shows.

    :ivar assigned_to_me: only the caller's.
    :ivar eligible_for_me: only open tasks the caller may claim (offered to its role and/or
        department, or to it by name).
    """

    assigned_to_me: bool = False
    eligible_for_me: bool = False
    status: HumanTaskStatus | None = None
    execution_id: UUID | None = None


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


class TaskStore(Protocol):
    """Human tasks in storage."""

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

    async def search(
        self, scope: UUID | None, caller: Principal, wanted: TaskFilter, page: PageRequest
    ) -> tuple[list[StoredTask], int]:
        """A page of the tasks in ``scope`` (every department: ``None``) that ``wanted`` keeps,
        newest first, soft-deleted ones left out; and how many there are in all."""
        ...
