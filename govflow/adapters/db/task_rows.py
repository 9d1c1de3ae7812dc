"""A ``human_tasks`` row (the columns of ``read_task`` in ``sql/tasks.sql``) as the use cases'
:class:`~govflow.usecases.task_ports.StoredTask`: the lifecycle's
:class:`~govflow.core.tasks.model.TaskState` and what the views add."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec

from govflow.core.roles import Role
from govflow.core.tasks.forms import FormField
from govflow.core.tasks.model import Approval, OnReject, Party, TaskPolicy, TaskState
from govflow.core.tasks.vocabulary import TaskStatus
from govflow.usecases.task_ports import StoredTask


def json_value(value: Any) -> Any:
    """A jsonb column's value: asyncpg hands jsonb over as its text."""
    return msgspec.json.decode(value) if isinstance(value, str) else value


def _users(value: Any) -> tuple[UUID, ...]:
    return tuple(UUID(str(user)) for user in json_value(value) or ())


def _party(role: str | None, department_id: UUID | None, users: Any) -> Party:
    return Party(
        users=_users(users),
        role=None if role is None else Role(role),
        department_id=department_id,
    )


def _form(value: Any) -> dict[str, FormField]:
    """The task's form fields (a field's unset keys are stored as null by the step)."""
    fields = json_value(value) or {}
    return msgspec.convert(
        {
            name: {key: item for key, item in field.items() if item is not None}
            for name, field in fields.items()
        },
        dict[str, FormField],
    )


def _channels(value: Any) -> tuple[Mapping[str, Any], ...]:
    """The task's ``notify`` channels (a list of them is stored; one mapping counts as one)."""
    channels = json_value(value)
    if isinstance(channels, dict):
        return (channels,)
    return tuple(channel for channel in channels or () if isinstance(channel, dict))


def stored_task(row: Mapping[str, Any]) -> StoredTask:
    """A ``read_task`` row as the use case's task."""
    reviewers = _party(row["reviewer_role"], row["reviewer_department_id"], row["reviewer_users"])
    escalate = json_value(row["escalate_to"])
    policy = TaskPolicy(
        reviewers=reviewers if reviewers.is_group or reviewers.users else None,
        approvals=row["approvals_required"],
        starter_cannot_approve=row["starter_cannot_approve"],
        on_reject=OnReject(row["on_reject"]),
        form=_form(row["form"]),
        escalate_to=None if escalate is None else msgspec.convert(escalate, Party),
        notify=_channels(row["notify"]),
    )
    state = TaskState(
        id=row["id"],
        status=TaskStatus(row["status"]),
        title=row["title"],
        department_id=row["department_id"],
        policy=policy,
        step_bound=row["execution_step_id"] is not None,
        created_by=row["created_by"],
        started_by=row["started_by"],
        offer=_party(row["assignee_role"], row["offer_department_id"], row["offer_users"]),
        assignee_id=row["assignee_id"],
        submitted_by=row["submitted_by"],
        submitted_at=row["submitted_at"],
        submission=json_value(row["submission"]),
        approvals=msgspec.convert(json_value(row["approvals"]) or [], tuple[Approval, ...]),
        rejections=row["rejections"],
        rejection_reason=row["rejection_reason"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        due_at=row["due_at"],
        overdue=row["overdue"],
        escalated=row["escalated"],
        updated_at=row["updated_at"],
        version=row["version"],
    )
    return StoredTask(
        state=state,
        execution_id=row["execution_id"],
        step_id=row["execution_step_id"],
        description=row["description"],
        decision=row["decision"],
        created_at=row["created_at"],
    )
