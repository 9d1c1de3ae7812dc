"""Editing a task's title, description and deadline (``PATCH /tasks/{task_id}``).

:func:`edit_task` asks :func:`govflow.core.tasks.edit.decide_edit` and writes the edit only
over the version the caller read (``version`` in the request) and the task is still at: a stale
version is a 409 naming ``body.version``, before or during the write (a concurrent decision
came first). Refusals are mapped as for every task action (:func:`refusal_error`): another
department's task is a 404. An edit that changes nothing writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from govflow.core.tasks.edit import Edit, decide_edit
from govflow.core.tasks.model import RecordAudit, TaskDecision
from govflow.core.tasks.refusals import TaskRefusal
from govflow.usecases.access_errors import FieldConflictError
from govflow.usecases.audit import Actor, AuditEntry
from govflow.usecases.errors import ConflictError, NotFoundError
from govflow.usecases.principal import Principal
from govflow.usecases.task_ports import StoredTask, TaskStore
from govflow.usecases.tasks import HUMAN_TASK, refusal_error, task_actor


def _stale(message: str) -> FieldConflictError:
    return FieldConflictError(f"{message}; read it again", "body.version", "stale_version")


def _audit(task: StoredTask, decision: TaskDecision, actor: Actor) -> list[AuditEntry]:
    where: dict[str, Any] = {"task_id": str(task.state.id)}
    if task.execution_id is not None:
        where["execution_id"] = str(task.execution_id)
    return [
        AuditEntry(
            action=command.event,
            actor=actor,
            entity_type=HUMAN_TASK,
            entity_id=str(task.state.id),
            department_id=task.state.department_id,
            reason=command.reason,
            metadata={**where, **msgspec.to_builtins(dict(command.data))},
        )
        for command in decision.commands
        if isinstance(command, RecordAudit)
    ]


async def edit_task(
    store: TaskStore,
    task_id: UUID,
    edit: Edit,
    version: int,
    principal: Principal,
    *,
    now: datetime | None = None,
) -> StoredTask:
    """Carry out ``edit`` of task ``task_id`` by ``principal``, who read it at ``version``."""
    moment = now or datetime.now(UTC)
    async with store.deciding(task_id) as unit:
        if unit is None:
            raise NotFoundError("task not found")
        task = unit.task
        try:
            decision = decide_edit(
                task.state, edit, task_actor(principal), moment, description=task.description
            )
        except TaskRefusal as refusal:
            raise refusal_error(refusal) from None
        if version != task.state.version:
            raise _stale(f"the task is at version {task.state.version}, not {version}")
        if not decision.commands:
            return task
        description = task.description
        if not isinstance(edit.description, msgspec.UnsetType):
            description = edit.description
        try:
            await unit.edit(decision.state, description, _audit(task, decision, principal.actor()))
        except ConflictError:
            raise _stale("the task was changed by another decision") from None
        return msgspec.structs.replace(task, state=decision.state, description=description)
