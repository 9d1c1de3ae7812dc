"""Who holds a task: create, assign, claim, release, delegate, and the checks on the target."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from govflow.core.roles import Role
from govflow.core.tasks.decide import create_task, decide_task
from govflow.core.tasks.model import (
    Assign,
    Claim,
    Delegate,
    Notify,
    Party,
    Reactivate,
    RecordAudit,
    Release,
    Start,
    TaskActor,
    TaskUser,
)
from govflow.core.tasks.refusals import TaskActorRefusal, TaskInputRefusal, TaskStateRefusal
from govflow.core.tasks.vocabulary import TaskStatus

from .support import (
    ACTORS,
    ASSIGNEE_ID,
    COLLEAGUE,
    COLLEAGUE_ID,
    DEPT,
    MANAGER_ID,
    NOW,
    OPERATOR_ID,
    OTHER_DEPT,
    task_in,
)

MANAGER = ACTORS["manager"]
ASSIGNEE = ACTORS["assignee"]
OPERATOR = ACTORS["operator"]


def test_delegation_hands_the_task_to_an_eligible_colleague_who_then_starts_it() -> None:
    task = task_in(TaskStatus.IN_PROGRESS)
    decision = decide_task(task, Delegate(target=COLLEAGUE, reason="on leave"), ASSIGNEE, NOW)
    assert decision.state.status == TaskStatus.ASSIGNED
    assert decision.state.assignee_id == COLLEAGUE_ID
    audit = decision.commands[0]
    assert isinstance(audit, RecordAudit)
    assert (audit.event, audit.reason) == ("HUMAN_TASK_DELEGATED", "on leave")
    assert audit.data["previous_assignee_id"] == str(ASSIGNEE_ID)
    assert Notify(why="delegated", to=Party(users=(COLLEAGUE_ID,))) in decision.commands
    with pytest.raises(TaskActorRefusal, match="not_assignee"):
        decide_task(decision.state, Start(), ASSIGNEE, NOW)
    colleague = TaskActor(user_id=COLLEAGUE_ID, role=Role.OPERATOR, department_id=DEPT)
    assert decide_task(decision.state, Start(), colleague, NOW).state.status == (
        TaskStatus.IN_PROGRESS
    )


@pytest.mark.parametrize(
    ("target", "code"),
    [
        (msgspec.structs.replace(COLLEAGUE, active=False), "target_inactive"),
        (msgspec.structs.replace(COLLEAGUE, department_id=OTHER_DEPT), "target_not_eligible"),
        (msgspec.structs.replace(COLLEAGUE, role=Role.MANAGER), "target_not_eligible"),
        (TaskUser(user_id=ASSIGNEE_ID, role=Role.OPERATOR, department_id=DEPT), "target_unchanged"),
    ],
)
def test_a_delegation_or_assignment_target_must_be_active_eligible_and_new(
    target: TaskUser, code: str
) -> None:
    task = task_in(TaskStatus.ASSIGNED)
    for action, actor in ((Delegate(target=target), ASSIGNEE), (Assign(target=target), MANAGER)):
        with pytest.raises(TaskInputRefusal) as refused:
            decide_task(task, action, actor, NOW)
        assert (refused.value.code, refused.value.field) == (code, "target")


def test_a_task_for_one_user_takes_any_active_member_of_its_department() -> None:
    task = task_in(TaskStatus.ASSIGNED, offer=Party())
    manager = TaskUser(user_id=MANAGER_ID, role=Role.MANAGER, department_id=DEPT)
    assert decide_task(task, Assign(target=manager), MANAGER, NOW).state.assignee_id == MANAGER_ID
    stranger = TaskUser(user_id=OPERATOR_ID, role=Role.OPERATOR, department_id=OTHER_DEPT)
    with pytest.raises(TaskInputRefusal, match="target_not_eligible"):
        decide_task(task, Assign(target=stranger), MANAGER, NOW)


def test_a_task_offered_to_a_role_takes_only_that_role_of_its_own_department() -> None:
    task = task_in(TaskStatus.ASSIGNED, offer=Party(role=Role.OPERATOR))
    assert decide_task(task, Delegate(target=COLLEAGUE), ASSIGNEE, NOW).state.assignee_id == (
        COLLEAGUE_ID
    )
    stranger = TaskUser(user_id=OPERATOR_ID, role=Role.OPERATOR, department_id=OTHER_DEPT)
    with pytest.raises(TaskInputRefusal, match="target_not_eligible"):
        decide_task(task, Delegate(target=stranger), ASSIGNEE, NOW)
    admin = TaskUser(user_id=OPERATOR_ID, role=Role.ADMIN, department_id=OTHER_DEPT)
    with pytest.raises(TaskInputRefusal, match="target_not_eligible"):
        decide_task(task, Assign(target=admin), MANAGER, NOW)


def test_claim_and_release_follow_the_offer() -> None:
    task = task_in(TaskStatus.OPEN)
    claimed = decide_task(task, Claim(), OPERATOR, NOW)
    assert claimed.state.assignee_id == OPERATOR_ID
    assert claimed.state.status == TaskStatus.ASSIGNED
    with pytest.raises(TaskStateRefusal, match="invalid_state"):
        decide_task(claimed.state, Claim(), ASSIGNEE, NOW)
    released = decide_task(claimed.state, Release(reason="busy"), OPERATOR, NOW)
    assert released.state.status == TaskStatus.OPEN
    assert released.state.assignee_id is None
    audit = released.commands[0]
    assert isinstance(audit, RecordAudit)
    assert (audit.event, audit.reason) == ("HUMAN_TASK_RELEASED", "busy")


def test_a_task_offered_to_nobody_cannot_be_claimed_or_released_by_its_assignee() -> None:
    lone = task_in(TaskStatus.OPEN, offer=Party())
    with pytest.raises(TaskActorRefusal) as refused:
        decide_task(lone, Claim(), OPERATOR, NOW)
    assert refused.value.code == "not_offered"
    held = task_in(TaskStatus.ASSIGNED, offer=Party())
    with pytest.raises(TaskActorRefusal, match="not_offered"):
        decide_task(held, Release(), ASSIGNEE, NOW)
    assert decide_task(held, Release(), MANAGER, NOW).state.status == TaskStatus.OPEN


def test_a_task_offered_to_a_department_is_claimed_by_any_role_of_it() -> None:
    task = task_in(TaskStatus.OPEN, offer=Party(department_id=DEPT))
    assert decide_task(task, Claim(), MANAGER, NOW).state.assignee_id == MANAGER_ID
    with pytest.raises(TaskActorRefusal, match="not_eligible"):
        decide_task(task, Claim(), TaskActor.SYSTEM, NOW)


def test_reassign_is_audited_with_both_assignees_and_notifies_the_new_one() -> None:
    decision = decide_task(task_in(TaskStatus.IN_PROGRESS), Assign(target=COLLEAGUE), MANAGER, NOW)
    audit = decision.commands[0]
    assert isinstance(audit, RecordAudit)
    assert audit.event == "HUMAN_TASK_REASSIGNED"
    assert audit.data == {
        "from": "IN_PROGRESS",
        "to": "ASSIGNED",
        "assignee_id": str(COLLEAGUE_ID),
        "previous_assignee_id": str(ASSIGNEE_ID),
    }


def test_create_a_step_task_by_the_system_with_an_assignee_and_a_deadline() -> None:
    task = task_in(TaskStatus.OPEN, step_bound=True, created_by=None)
    decision = create_task(
        task, TaskActor.SYSTEM, NOW, assignee=COLLEAGUE, due_in=timedelta(days=2)
    )
    assert decision.state.status == TaskStatus.ASSIGNED
    assert decision.state.assignee_id == COLLEAGUE_ID
    assert decision.state.due_at == NOW + timedelta(days=2)
    events = [c.event for c in decision.commands if isinstance(c, RecordAudit)]
    assert events == ["HUMAN_TASK_CREATED", "HUMAN_TASK_ASSIGNED"]
    with pytest.raises(TaskActorRefusal, match="step_bound"):
        create_task(task, MANAGER, NOW)


def test_create_a_standalone_task_offered_to_a_role_notifies_the_offer() -> None:
    task = task_in(TaskStatus.OPEN, created_by=None)
    decision = create_task(task, MANAGER, NOW)
    assert decision.state.created_by == MANAGER_ID
    assert decision.state.status == TaskStatus.OPEN
    assert Notify(why="created", to=task.offer) in decision.commands
    with pytest.raises(TaskActorRefusal, match="role_forbidden"):
        create_task(task, OPERATOR, NOW)
    with pytest.raises(TaskActorRefusal, match="other_department"):
        create_task(task, ACTORS["other_manager"], NOW)
    with pytest.raises(TaskStateRefusal, match="invalid_state"):
        create_task(task_in(TaskStatus.ASSIGNED), MANAGER, NOW)


def test_a_task_without_a_department_is_open_to_every_department() -> None:
    task = task_in(TaskStatus.OPEN, department_id=None, offer=Party(role=Role.OPERATOR))
    stranger = ACTORS["other_operator"]
    assert decide_task(task, Claim(), stranger, NOW).state.assignee_id == stranger.user_id


def test_reactivate_reopens_a_canceled_task_to_its_offer_with_nobody_assigned() -> None:
    task = task_in(TaskStatus.CANCELED, submitted_by=ASSIGNEE_ID, submission={"a": 1})
    decision = decide_task(task, Reactivate(reason="needed after all"), MANAGER, NOW)
    assert decision.state.status == TaskStatus.OPEN
    assert decision.state.assignee_id is None
    assert decision.state.submission is None
    assert decision.state.submitted_by is None
