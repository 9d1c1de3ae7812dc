"""What a deadline sweep writes, compared whole: the audit records, the notices, the task after.

The sweeper stores these records as they are; the audit log and the notices are the only trace
of a missed deadline, so every field of them is part of the behaviour.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.roles import Role
from govflow.core.tasks.deadlines import decide_deadline
from govflow.core.tasks.model import Notify, Party, RecordAudit, TaskState
from govflow.core.tasks.vocabulary import TaskStatus

from .support import ASSIGNEE_ID, DEPT, MANAGER_ID, NOW, OPERATOR_ID, task_in

DUE = NOW - timedelta(minutes=5)
EARLIER = NOW - timedelta(days=1)


def _escalating(task: TaskState, to: Party) -> TaskState:
    policy = msgspec.structs.replace(task.policy, escalate_to=to)
    return msgspec.structs.replace(task, policy=policy, updated_at=EARLIER)


def _overdue_record() -> RecordAudit:
    return RecordAudit(
        event=AuditEvent.HUMAN_TASK_OVERDUE,
        actor_id=None,
        reason="deadline passed",
        data={"due_at": DUE.isoformat(), "overdue_seconds": 300},
    )


def test_marking_overdue_stamps_the_task_with_the_sweep_time() -> None:
    task = task_in(TaskStatus.ASSIGNED, due_at=DUE, updated_at=EARLIER)
    decision = decide_deadline(task, NOW)
    assert decision is not None
    assert decision.state == msgspec.structs.replace(
        task, overdue=True, updated_at=NOW, version=task.version + 1
    )
    assert decision.commands == (
        _overdue_record(),
        Notify(why="overdue", to=Party(users=(ASSIGNEE_ID,))),
    )


def test_escalation_to_one_user_is_audited_with_the_handover() -> None:
    task = _escalating(task_in(TaskStatus.IN_PROGRESS, due_at=DUE), Party(users=(MANAGER_ID,)))
    decision = decide_deadline(task, NOW)
    assert decision is not None
    assert decision.state == msgspec.structs.replace(
        task,
        status=TaskStatus.ASSIGNED,
        assignee_id=MANAGER_ID,
        overdue=True,
        escalated=True,
        updated_at=NOW,
        version=task.version + 1,
    )
    assert decision.commands == (
        _overdue_record(),
        Notify(why="overdue", to=Party(users=(ASSIGNEE_ID,))),
        RecordAudit(
            event=AuditEvent.HUMAN_TASK_ESCALATED,
            actor_id=None,
            reason="deadline passed",
            data={
                "users": [str(MANAGER_ID)],
                "role": None,
                "department_id": None,
                "from": TaskStatus.IN_PROGRESS.value,
                "to": TaskStatus.ASSIGNED.value,
                "assignee_id": str(MANAGER_ID),
            },
        ),
        Notify(why="escalated", to=Party(users=(MANAGER_ID,))),
    )


def test_escalation_of_a_task_already_marked_overdue_stamps_it_with_the_sweep_time() -> None:
    managers = Party(role=Role.MANAGER, department_id=DEPT)
    task = _escalating(task_in(TaskStatus.ASSIGNED, due_at=DUE, overdue=True), managers)
    decision = decide_deadline(task, NOW)
    assert decision is not None
    assert decision.state == msgspec.structs.replace(
        task, offer=managers, escalated=True, updated_at=NOW, version=task.version + 1
    )
    assert decision.commands == (
        RecordAudit(
            event=AuditEvent.HUMAN_TASK_ESCALATED,
            actor_id=None,
            reason="deadline passed",
            data={"users": [], "role": Role.MANAGER.value, "department_id": str(DEPT)},
        ),
        Notify(why="escalated", to=managers),
    )


def test_escalation_to_several_users_notifies_them_and_hands_over_to_none() -> None:
    several = Party(users=(MANAGER_ID, OPERATOR_ID))
    task = _escalating(task_in(TaskStatus.ASSIGNED, due_at=DUE, overdue=True), several)
    decision = decide_deadline(task, NOW)
    assert decision is not None
    assert decision.state.assignee_id == ASSIGNEE_ID
    assert decision.state.offer == task.offer
    assert decision.state.escalated
    assert decision.commands == (
        RecordAudit(
            event=AuditEvent.HUMAN_TASK_ESCALATED,
            actor_id=None,
            reason="deadline passed",
            data={
                "users": [str(MANAGER_ID), str(OPERATOR_ID)],
                "role": None,
                "department_id": None,
            },
        ),
        Notify(why="escalated", to=several),
    )


def test_a_user_named_with_a_role_widens_the_offer_instead_of_taking_the_task() -> None:
    mixed = Party(users=(MANAGER_ID,), role=Role.MANAGER)
    task = _escalating(task_in(TaskStatus.ASSIGNED, due_at=DUE, overdue=True), mixed)
    decision = decide_deadline(task, NOW)
    assert decision is not None
    assert decision.state.assignee_id == ASSIGNEE_ID
    assert decision.state.offer == mixed
    [audit, _] = decision.commands
    assert isinstance(audit, RecordAudit)
    assert audit.data == {
        "users": [str(MANAGER_ID)],
        "role": Role.MANAGER.value,
        "department_id": None,
    }


def test_a_task_escalated_once_is_not_escalated_again_when_marked_overdue_anew() -> None:
    # the overdue mark was cleared (a new deadline) but the one escalation already happened
    task = _escalating(
        task_in(TaskStatus.ASSIGNED, due_at=DUE, escalated=True), Party(users=(MANAGER_ID,))
    )
    decision = decide_deadline(task, NOW)
    assert decision is not None
    assert decision.state.assignee_id == ASSIGNEE_ID
    assert decision.commands == (
        _overdue_record(),
        Notify(why="overdue", to=Party(users=(ASSIGNEE_ID,))),
    )


def test_escalating_to_the_current_assignee_changes_no_hands() -> None:
    task = _escalating(
        task_in(TaskStatus.IN_PROGRESS, due_at=DUE, overdue=True), Party(users=(ASSIGNEE_ID,))
    )
    decision = decide_deadline(task, NOW)
    assert decision is not None
    assert decision.state.status == TaskStatus.IN_PROGRESS
    [audit, notice] = decision.commands
    assert isinstance(audit, RecordAudit)
    assert "from" not in audit.data
    assert notice == Notify(why="escalated", to=Party(users=(ASSIGNEE_ID,)))


def test_an_open_task_escalated_to_a_user_is_assigned_to_them() -> None:
    user = UUID(int=0x51)
    task = _escalating(task_in(TaskStatus.OPEN, due_at=DUE, overdue=True), Party(users=(user,)))
    decision = decide_deadline(task, NOW)
    assert decision is not None
    assert (decision.state.status, decision.state.assignee_id) == (TaskStatus.ASSIGNED, user)
