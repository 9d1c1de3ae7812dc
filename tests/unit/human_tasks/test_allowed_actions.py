"""The actions a page offers: the lifecycle's own answer for this actor and this task."""

from __future__ import annotations

import pytest

from govflow.core.tasks.allowed import allowed_actions
from govflow.core.tasks.decide import decide_task
from govflow.core.tasks.model import Approve, Claim, Start, TaskActor
from govflow.core.tasks.vocabulary import TaskActionName, TaskStatus
from tests.unit.human_tasks.support import ACTORS, NOW, SECOND_MANAGER, task_in

A = TaskActionName


@pytest.mark.parametrize(
    ("status", "actor", "expected"),
    [
        (TaskStatus.OPEN, "operator", [A.CLAIM]),
        (TaskStatus.OPEN, "manager", [A.ASSIGN, A.CANCEL]),
        (TaskStatus.OPEN, "other_operator", []),
        (TaskStatus.ASSIGNED, "assignee", [A.RELEASE, A.DELEGATE, A.START]),
        (TaskStatus.ASSIGNED, "operator", []),
        (TaskStatus.IN_PROGRESS, "assignee", [A.RELEASE, A.DELEGATE, A.SUBMIT]),
        (TaskStatus.SUBMITTED, "assignee", []),
        (TaskStatus.SUBMITTED, "manager", [A.APPROVE, A.REJECT, A.CANCEL]),
        (TaskStatus.SUBMITTED, "other_manager", []),
        (TaskStatus.CANCELED, "manager", [A.REACTIVATE, A.DELETE]),
    ],
)
def test_allowed_actions_of_a_standalone_task(
    status: TaskStatus, actor: str, expected: list[TaskActionName]
) -> None:
    assert allowed_actions(task_in(status), ACTORS[actor], NOW) == expected


def test_the_submitter_is_offered_no_approve_even_as_a_reviewer() -> None:
    submitter = SECOND_MANAGER
    task = task_in(
        TaskStatus.SUBMITTED, assignee_id=submitter.user_id, submitted_by=submitter.user_id
    )
    assert A.APPROVE not in allowed_actions(task, submitter, NOW)
    assert A.APPROVE in allowed_actions(task, ACTORS["manager"], NOW)


def test_a_step_bound_task_offers_no_cancel_to_a_manager() -> None:
    task = task_in(TaskStatus.SUBMITTED, step_bound=True)
    assert allowed_actions(task, ACTORS["manager"], NOW) == [A.APPROVE, A.REJECT]


@pytest.mark.parametrize("actor", sorted(ACTORS))
def test_every_action_offered_is_one_the_lifecycle_accepts(actor: str) -> None:
    """Claim, start and approve have no inputs: what is offered is decided without refusal."""
    probes = {A.CLAIM: Claim(), A.START: Start(), A.APPROVE: Approve()}
    who: TaskActor = ACTORS[actor]
    for status in TaskStatus:
        task = task_in(status)
        for name in allowed_actions(task, who, NOW):
            if name in probes:
                decide_task(task, probes[name], who, NOW)
