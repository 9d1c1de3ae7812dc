"""Deadlines of human tasks: whether a task is overdue at ``now`` and what the sweeper does.

A task with a ``due_at`` that is still to be decided (``TaskStatus.ACTIVE``) is overdue from
``due_at`` on. The first sweep that sees it overdue marks it (``HUMAN_TASK_OVERDUE``, a notice to
whoever holds it) and, if the task names ``escalate_to``, escalates it once
(``HUMAN_TASK_ESCALATED``): a single user named there gets the task through the table's
``ASSIGN`` row when it is not yet submitted; a role or department becomes the task's offer (its
members can claim it once released) and is notified; a submitted task's escalation notifies.
Later sweeps decide nothing more.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.tasks.model import (
    Notify,
    Party,
    RecordAudit,
    TaskActor,
    TaskCommand,
    TaskDecision,
    TaskState,
)
from govflow.core.tasks.table import TASK_MACHINE
from govflow.core.tasks.vocabulary import TaskActionName, TaskStatus


class DeadlineVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """Where a task stands against its deadline at a given moment."""

    overdue: bool
    """The deadline passed and the task is still to be decided."""
    mark_overdue: bool
    """Overdue and not marked yet: the sweeper records it."""
    escalate: bool
    """Overdue, with an ``escalate_to``, not escalated yet."""


def deadline_verdict(task: TaskState, now: datetime) -> DeadlineVerdict:
    """Whether ``task`` is overdue at ``now``, and what is still to be done about it."""
    overdue = task.status in TaskStatus.ACTIVE and task.due_at is not None and now >= task.due_at
    return DeadlineVerdict(
        overdue=overdue,
        mark_overdue=overdue and not task.overdue,
        escalate=overdue and task.policy.escalate_to is not None and not task.escalated,
    )


def _holder(task: TaskState) -> Party:
    if task.assignee_id is not None:
        return Party(users=(task.assignee_id,))
    return task.offer


def _escalate(task: TaskState, target: Party, now: datetime) -> tuple[TaskState, list[TaskCommand]]:
    data: dict[str, object] = {
        "users": [str(user) for user in target.users],
        "role": None if target.role is None else target.role.value,
        "department_id": None if target.department_id is None else str(target.department_id),
    }
    changes: dict[str, object] = {"escalated": True}
    hand_over = len(target.users) == 1 and not target.is_group
    if hand_over and task.status != TaskStatus.SUBMITTED and task.assignee_id != target.users[0]:
        after = TASK_MACHINE.allowed(task.status).get(TaskActionName.ASSIGN)
        if after is not None:
            changes.update(status=after, assignee_id=target.users[0])
            data.update(
                {"from": task.status.value, "to": after.value, "assignee_id": str(target.users[0])}
            )
    elif target.is_group:
        changes["offer"] = target
    escalated = msgspec.structs.replace(task, updated_at=now, **changes)
    commands: list[TaskCommand] = [
        RecordAudit(
            event=AuditEvent.HUMAN_TASK_ESCALATED,
            actor_id=TaskActor.SYSTEM.user_id,
            reason="deadline passed",
            data=data,
        ),
        Notify(why="escalated", to=target),
    ]
    return escalated, commands


def decide_deadline(task: TaskState, now: datetime) -> TaskDecision | None:
    """What the sweeper does about ``task`` at ``now``: ``None`` when nothing is due."""
    verdict = deadline_verdict(task, now)
    if not (verdict.mark_overdue or verdict.escalate):
        return None
    state = task
    commands: list[TaskCommand] = []
    if verdict.mark_overdue and task.due_at is not None:
        state = msgspec.structs.replace(state, overdue=True, updated_at=now)
        commands.append(
            RecordAudit(
                event=AuditEvent.HUMAN_TASK_OVERDUE,
                actor_id=None,
                reason="deadline passed",
                data={
                    "due_at": task.due_at.isoformat(),
                    "overdue_seconds": int((now - task.due_at).total_seconds()),
                },
            )
        )
        commands.append(Notify(why="overdue", to=_holder(task)))
    if verdict.escalate and task.policy.escalate_to is not None:
        state, escalation = _escalate(state, task.policy.escalate_to, now)
        commands.extend(escalation)
    state = msgspec.structs.replace(state, version=task.version + 1)
    return TaskDecision(state=state, commands=tuple(commands))
