"""Deadlines: when a task is overdue, marking it once, and escalating it once."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from govflow.core.roles import Role
from govflow.core.tasks.deadlines import DeadlineVerdict, deadline_verdict, decide_deadline
from govflow.core.tasks.model import Notify, Party, RecordAudit, TaskState
from govflow.core.tasks.vocabulary import TaskStatus

from .support import ASSIGNEE_ID, DEPT, MANAGER_ID, NOW, OFFER, task_in

DUE = NOW - timedelta(minutes=5)


def _escalating(task: TaskState, to: Party) -> TaskState:
    policy = msgspec.structs.replace(task.policy, escalate_to=to)
    return msgspec.structs.replace(task, policy=policy)


def test_a_task_is_overdue_from_its_deadline_on_and_only_while_undecided() -> None:
    task = task_in(TaskStatus.IN_PROGRESS, due_at=NOW)
    assert not deadline_verdict(task, NOW - timedelta(microseconds=1)).overdue
    assert deadline_verdict(task, NOW) == DeadlineVerdict(
        overdue=True, mark_overdue=True, escalate=False
    )
    assert not deadline_verdict(task_in(TaskStatus.IN_PROGRESS), NOW).overdue
    for status in (TaskStatus.APPROVED, TaskStatus.CLOSED, TaskStatus.CANCELED):
        assert not deadline_verdict(task_in(status, due_at=DUE), NOW).overdue
        assert decide_deadline(task_in(status, due_at=DUE), NOW) is None


def test_the_first_sweep_marks_the_task_overdue_and_tells_its_holder() -> None:
    decision = decide_deadline(task_in(TaskStatus.ASSIGNED, due_at=DUE), NOW)
    assert decision is not None
    assert decision.state.overdue
    assert decision.state.status == TaskStatus.ASSIGNED
    assert decision.state.version == 2
    audit, notice = decision.commands
    assert isinstance(audit, RecordAudit)
    assert audit.event == "HUMAN_TASK_OVERDUE"
    assert audit.actor_id is None
    assert audit.data == {"due_at": DUE.isoformat(), "overdue_seconds": 300}
    assert notice == Notify(why="overdue", to=Party(users=(ASSIGNEE_ID,)))
    assert decide_deadline(decision.state, NOW + timedelta(hours=1)) is None


def test_an_unassigned_overdue_task_notifies_its_offer() -> None:
    decision = decide_deadline(task_in(TaskStatus.OPEN, due_at=DUE), NOW)
    assert decision is not None
    assert Notify(why="overdue", to=OFFER) in decision.commands


def test_escalation_to_a_user_hands_the_task_over_once() -> None:
    task = _escalating(task_in(TaskStatus.IN_PROGRESS, due_at=DUE), Party(users=(MANAGER_ID,)))
    decision = decide_deadline(task, NOW)
    assert decision is not None
    assert decision.state.status == TaskStatus.ASSIGNED
    assert decision.state.assignee_id == MANAGER_ID
    assert decision.state.escalated
    assert decision.state.overdue
    events = [c.event for c in decision.commands if isinstance(c, RecordAudit)]
    assert events == ["HUMAN_TASK_OVERDUE", "HUMAN_TASK_ESCALATED"]
    assert Notify(why="escalated", to=Party(users=(MANAGER_ID,))) in decision.commands
    assert decide_deadline(decision.state, NOW + timedelta(days=1)) is None


def test_escalation_to_a_role_makes_it_the_offer_and_keeps_the_assignee() -> None:
    managers = Party(role=Role.MANAGER, department_id=DEPT)
    task = _escalating(task_in(TaskStatus.ASSIGNED, due_at=DUE), managers)
    decision = decide_deadline(task, NOW)
    assert decision is not None
    assert decision.state.offer == managers
    assert decision.state.assignee_id == ASSIGNEE_ID
    assert decision.state.status == TaskStatus.ASSIGNED


def test_a_submitted_task_escalation_only_notifies() -> None:
    status = TaskStatus.SUBMITTED
    task = _escalating(task_in(status, due_at=DUE, overdue=True), Party(users=(MANAGER_ID,)))
    decision = decide_deadline(task, NOW)
    assert decision is not None
    assert decision.state.status == status
    assert decision.state.assignee_id == ASSIGNEE_ID
    events = [c.event for c in decision.commands if isinstance(c, RecordAudit)]
    assert events == ["HUMAN_TASK_ESCALATED"]
