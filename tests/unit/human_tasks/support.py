"""People, tasks and helpers shared by the human-task lifecycle tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from govflow.core.roles import Role
from govflow.core.tasks.model import Party, TaskActor, TaskPolicy, TaskState, TaskUser
from govflow.core.tasks.vocabulary import TaskStatus

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DEPT = UUID(int=0xD)
OTHER_DEPT = UUID(int=0xE)

ADMIN_ID = UUID(int=1)
MANAGER_ID = UUID(int=2)
ASSIGNEE_ID = UUID(int=3)
OPERATOR_ID = UUID(int=4)
COLLEAGUE_ID = UUID(int=5)
OTHER_MANAGER_ID = UUID(int=6)
OTHER_OPERATOR_ID = UUID(int=7)
SECOND_MANAGER_ID = UUID(int=8)
THIRD_MANAGER_ID = UUID(int=9)
TASK_ID = UUID(int=100)

ACTORS: dict[str, TaskActor] = {
    "admin": TaskActor(user_id=ADMIN_ID, role=Role.ADMIN, department_id=OTHER_DEPT),
    "manager": TaskActor(user_id=MANAGER_ID, role=Role.MANAGER, department_id=DEPT),
    "assignee": TaskActor(user_id=ASSIGNEE_ID, role=Role.OPERATOR, department_id=DEPT),
    "operator": TaskActor(user_id=OPERATOR_ID, role=Role.OPERATOR, department_id=DEPT),
    "other_manager": TaskActor(
        user_id=OTHER_MANAGER_ID, role=Role.MANAGER, department_id=OTHER_DEPT
    ),
    "other_operator": TaskActor(
        user_id=OTHER_OPERATOR_ID, role=Role.OPERATOR, department_id=OTHER_DEPT
    ),
}
"""Who acts in the tests: ``admin`` belongs to another department on purpose (ADMIN acts
everywhere); ``assignee`` holds the task wherever it has an assignee."""

SECOND_MANAGER = TaskActor(user_id=SECOND_MANAGER_ID, role=Role.MANAGER, department_id=DEPT)
THIRD_MANAGER = TaskActor(user_id=THIRD_MANAGER_ID, role=Role.MANAGER, department_id=DEPT)

COLLEAGUE = TaskUser(user_id=COLLEAGUE_ID, role=Role.OPERATOR, department_id=DEPT)
"""An active operator of the task's department who does not hold the task."""

OFFER = Party(role=Role.OPERATOR, department_id=DEPT)
REVIEWERS = Party(role=Role.MANAGER, department_id=DEPT)


def task_in(status: TaskStatus, *, step_bound: bool = False, **changes: Any) -> TaskState:
    """A task of DEPT offered to its operators, reviewed by its managers, in ``status``.

    Where the status implies it, ASSIGNEE holds the task and submitted it.
    """
    holds = status not in (TaskStatus.OPEN,)
    submitted = status in (
        TaskStatus.SUBMITTED,
        TaskStatus.REJECTED,
        TaskStatus.APPROVED,
        TaskStatus.CLOSED,
    )
    task = TaskState(
        id=TASK_ID,
        status=status,
        title="Review permit",
        department_id=DEPT,
        policy=TaskPolicy(reviewers=REVIEWERS),
        step_bound=step_bound,
        created_by=MANAGER_ID,
        offer=OFFER,
        assignee_id=ASSIGNEE_ID if holds else None,
        submitted_by=ASSIGNEE_ID if submitted else None,
        submitted_at=NOW if submitted else None,
        submission={} if submitted else None,
        rejections=1 if status == TaskStatus.REJECTED else 0,
    )
    return msgspec.structs.replace(task, **changes)
