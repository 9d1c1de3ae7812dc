"""The conditions of ``GET /tasks``: the caller's department scope and the list's filters, as
Piccolo conditions on :class:`~govflow.adapters.db.tables.HumanTask` (soft-deleted tasks are
always left out).

"Eligible for me" mirrors the lifecycle's rules (``govflow.core.tasks.rules``) in SQL: an open
task the caller may claim (offered to it by name, or to a role and/or department it matches),
or a submitted task it may review (ADMIN, or a member of the reviewers; not the submitter; not
one who approved this submission already; not the execution's starter under
``starter_cannot_approve``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from piccolo.columns.combination import WhereRaw

from govflow.adapters.db.tables import HumanTask
from govflow.core.roles import Role
from govflow.core.tasks.vocabulary import TaskStatus
from govflow.usecases.principal import Principal
from govflow.usecases.task_ports import TaskFilter

_OVERDUE = "human_tasks.due_at <= now()"
_NOT_DUE = "human_tasks.due_at > now()"


def _listed(user_id: UUID) -> str:
    """A JSON array holding ``user_id``, for ``@>`` on the tasks' user lists."""
    return f'["{user_id}"]'


def _claimable(caller: Principal) -> Any:
    by_name = WhereRaw("human_tasks.offer_users @> {}::jsonb", _listed(caller.user_id))
    role_fits = HumanTask.assignee_role.is_null() | (HumanTask.assignee_role == caller.role)
    department_fits = HumanTask.offer_department_id.is_null() | (
        HumanTask.offer_department_id == caller.department_id
    )
    offered = HumanTask.assignee_role.is_not_null() | HumanTask.offer_department_id.is_not_null()
    return (HumanTask.status == TaskStatus.OPEN) & (
        by_name | (offered & role_fits & department_fits)
    )


def _reviewable(caller: Principal) -> Any:
    group = HumanTask.reviewer_role.is_not_null() | HumanTask.reviewer_department_id.is_not_null()
    by_name = WhereRaw("human_tasks.reviewer_users @> {}::jsonb", _listed(caller.user_id))
    if caller.role == Role.ADMIN:
        reviewer = group | WhereRaw("human_tasks.reviewer_users <> '[]'::jsonb")
    else:
        role_fits = HumanTask.reviewer_role.is_null() | (HumanTask.reviewer_role == caller.role)
        department_fits = HumanTask.reviewer_department_id.is_null() | (
            HumanTask.reviewer_department_id == caller.department_id
        )
        reviewer = by_name | (group & role_fits & department_fits)
    not_submitter = HumanTask.submitted_by.is_null() | (HumanTask.submitted_by != caller.user_id)
    not_approved = WhereRaw(
        "NOT human_tasks.approvals @> {}::jsonb", f'[{{"by": "{caller.user_id}"}}]'
    )
    not_starter = WhereRaw(
        "NOT (human_tasks.starter_cannot_approve AND EXISTS (SELECT 1 FROM executions s "
        "WHERE s.id = human_tasks.execution_id AND s.created_by = {}::uuid))",
        caller.user_id,
    )
    return (
        (HumanTask.status == TaskStatus.SUBMITTED)
        & reviewer
        & not_submitter
        & not_approved
        & not_starter
    )


def _overdue(wanted: bool) -> Any:
    active = list(TaskStatus.ACTIVE)
    if wanted:
        return HumanTask.status.is_in(active) & WhereRaw(_OVERDUE)
    return HumanTask.status.not_in(active) | HumanTask.due_at.is_null() | WhereRaw(_NOT_DUE)


def task_conditions(scope: UUID | None, caller: Principal, wanted: TaskFilter) -> list[Any]:
    """Every condition a task of the list meets (``scope``: the caller's department, or
    ``None`` for every department)."""
    where: list[Any] = [HumanTask.status != TaskStatus.DELETED]
    if scope is not None:
        where.append((HumanTask.department_id == scope) | HumanTask.department_id.is_null())
    if wanted.statuses:
        where.append(HumanTask.status.is_in(list(wanted.statuses)))
    if wanted.execution_id is not None:
        where.append(HumanTask.execution_id == wanted.execution_id)
    if wanted.workflow_id is not None:
        where.append(HumanTask.execution_id.workflow_id == wanted.workflow_id)
    if wanted.department_id is not None:
        where.append(HumanTask.department_id == wanted.department_id)
    if wanted.overdue is not None:
        where.append(_overdue(wanted.overdue))
    if wanted.assigned_to_me:
        where.append(HumanTask.assignee_id == caller.user_id)
    if wanted.eligible_for_me:
        where.append(_claimable(caller) | _reviewable(caller))
    return where
