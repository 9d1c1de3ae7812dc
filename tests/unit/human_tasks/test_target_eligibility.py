"""Who a task can be given to (assign, delegate): its department, its offer, the ADMIN anywhere."""

from __future__ import annotations

from uuid import UUID

from govflow.core.roles import Role
from govflow.core.tasks.decide import decide_task
from govflow.core.tasks.model import Assign, Party, TaskUser
from govflow.core.tasks.vocabulary import TaskStatus

from .support import ACTORS, DEPT, NOW, OTHER_DEPT, task_in

MANAGER = ACTORS["manager"]
ADMIN = ACTORS["admin"]
NAMED_ID = UUID(int=0x99)


def test_an_admin_of_another_department_may_be_given_a_task_offered_to_nobody() -> None:
    task = task_in(TaskStatus.ASSIGNED, offer=Party())
    admin = TaskUser(user_id=NAMED_ID, role=Role.ADMIN, department_id=OTHER_DEPT)
    assert decide_task(task, Assign(target=admin), MANAGER, NOW).state.assignee_id == NAMED_ID


def test_a_task_without_a_department_may_be_given_to_anyone_active() -> None:
    task = task_in(TaskStatus.ASSIGNED, department_id=None, offer=Party())
    stranger = TaskUser(user_id=NAMED_ID, role=Role.OPERATOR, department_id=OTHER_DEPT)
    assert decide_task(task, Assign(target=stranger), ADMIN, NOW).state.assignee_id == NAMED_ID


def test_a_user_named_in_the_offer_may_be_given_the_task_whatever_their_role() -> None:
    offer = Party(users=(NAMED_ID,), role=Role.MANAGER, department_id=DEPT)
    task = task_in(TaskStatus.ASSIGNED, offer=offer)
    named = TaskUser(user_id=NAMED_ID, role=Role.OPERATOR, department_id=DEPT)
    assert decide_task(task, Assign(target=named), MANAGER, NOW).state.assignee_id == NAMED_ID
