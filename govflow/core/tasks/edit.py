"""Editing a task's details: its title, description and deadline, never its status.

:func:`decide_edit` is the pure decision behind ``PATCH /tasks/{task_id}``. An ADMIN or a
MANAGER of the task's department edits a task that is not over (``TaskStatus.TERMINAL``:
closed, canceled, deleted); a step's task too (its deadline, a clearer title). A new deadline
lies after ``now`` (``None`` removes it) and clears the overdue mark, so the deadline sweep
judges the task again; an escalation already made stays made. The decision bumps the
version like every other one and records ``HUMAN_TASK_UPDATED`` with the fields changed. An
edit that changes nothing decides nothing (no commands, the same version).

The description is not part of :class:`~govflow.core.tasks.model.TaskState` (the lifecycle
never reads it), so it is passed in and the caller writes the edit's text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.tasks import rules
from govflow.core.tasks.model import RecordAudit, TaskActor, TaskDecision, TaskState
from govflow.core.tasks.refusals import TaskInputRefusal, TaskStateRefusal
from govflow.core.tasks.vocabulary import TaskStatus


class Edit(msgspec.Struct, frozen=True, kw_only=True):
    """What an edit changes; a field left ``UNSET`` stays as it is."""

    title: str | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType = msgspec.UNSET
    due_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    reason: str = ""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def decide_edit(
    task: TaskState, edit: Edit, actor: TaskActor, now: datetime, *, description: str
) -> TaskDecision:
    """Decide ``edit`` by ``actor`` of ``task`` (whose description is ``description``) at
    ``now``, or raise a TaskRefusal (``other_department``, ``role_forbidden``,
    ``invalid_state``, ``title_required``, ``due_in_past``)."""
    rules.check_department(task, actor)
    rules.require_manager(actor)
    if task.status in TaskStatus.TERMINAL:
        raise TaskStateRefusal(
            "invalid_state", "status", f"a {task.status.value} task can no longer be edited"
        )
    changes: dict[str, Any] = {}
    data: dict[str, Any] = {}
    if edit.title is not msgspec.UNSET:
        title = edit.title.strip()
        if not title:
            raise TaskInputRefusal("title_required", "title", "a task needs a title")
        if title != task.title:
            changes["title"] = title
            data["previous_title"] = task.title
    if edit.description is not msgspec.UNSET and edit.description != description:
        data["description_changed"] = True
    if edit.due_at is not msgspec.UNSET and edit.due_at != task.due_at:
        if edit.due_at is not None and edit.due_at <= now:
            raise TaskInputRefusal("due_in_past", "due_at", "the deadline must lie in the future")
        changes["due_at"] = edit.due_at
        changes["overdue"] = False
        data["due_at"] = _iso(edit.due_at)
        data["previous_due_at"] = _iso(task.due_at)
    changed = sorted(
        [name for name in ("title", "due_at") if name in changes]
        + (["description"] if "description_changed" in data else [])
    )
    data.pop("description_changed", None)
    if not changed:
        return TaskDecision(state=task, commands=())
    after = msgspec.structs.replace(task, updated_at=now, version=task.version + 1, **changes)
    audit = RecordAudit(
        event=AuditEvent.HUMAN_TASK_UPDATED,
        actor_id=actor.user_id,
        reason=edit.reason or None,
        data={"from": task.status.value, "to": task.status.value, "changed": changed, **data},
    )
    return TaskDecision(state=after, commands=(audit,))
