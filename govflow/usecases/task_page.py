"""A task as its page shows it: the task, the actions the viewer may take on it now (the
lifecycle's answer, :func:`govflow.core.tasks.allowed.allowed_actions`), its records, and the
execution's inputs and earlier outputs when the viewer may see the execution.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import msgspec

from govflow.core.statuses import HumanTaskStatus
from govflow.core.tasks.allowed import allowed_actions
from govflow.core.tasks.vocabulary import TaskActionName
from govflow.usecases.errors import NotFoundError
from govflow.usecases.execution_admin import ExecutionAdmin
from govflow.usecases.execution_views import ExecutionView
from govflow.usecases.principal import Principal, scope_department
from govflow.usecases.task_ports import TaskRecord, TaskStore
from govflow.usecases.task_views import TaskView, task_view
from govflow.usecases.tasks import task_actor


class TaskPage(msgspec.Struct, frozen=True, kw_only=True):
    """What a task's page shows.

    :ivar execution: the task's execution, when it has one the viewer may see (an OPERATOR sees
        the executions it started or holds a task in).
    """

    task: TaskView
    allowed: list[TaskActionName]
    can_comment: bool
    records: list[TaskRecord]
    execution: ExecutionView | None


async def task_page(
    store: TaskStore,
    executions: ExecutionAdmin,
    principal: Principal,
    task_id: UUID,
    now: datetime | None = None,
) -> TaskPage:
    """The page of task ``task_id`` for ``principal``; another department's task is not found."""
    found = await store.get(task_id)
    scope = scope_department(principal)
    if found is None or (scope is not None and found.state.department_id not in (None, scope)):
        raise NotFoundError("task not found")
    execution = None
    if found.execution_id is not None:
        try:
            execution = await executions.get(principal, found.execution_id)
        except NotFoundError:
            execution = None
    return TaskPage(
        task=task_view(found),
        allowed=allowed_actions(found.state, task_actor(principal), now or datetime.now(UTC)),
        can_comment=found.state.status != HumanTaskStatus.DELETED,
        records=await store.records(task_id),
        execution=execution,
    )
