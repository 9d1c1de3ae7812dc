"""Editing a task's title, description and deadline (``decide_edit``): who may, when, what is
recorded, and that the status never moves."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from govflow.core.audit_events import AuditEvent
from govflow.core.tasks.edit import Edit, decide_edit
from govflow.core.tasks.model import RecordAudit
from govflow.core.tasks.refusals import TaskActorRefusal, TaskInputRefusal, TaskStateRefusal
from govflow.core.tasks.vocabulary import TaskStatus
from tests.unit.human_tasks.support import ACTORS, MANAGER_ID, NOW, task_in

LATER = NOW + timedelta(days=2)


def _audit(commands: tuple[object, ...]) -> RecordAudit:
    [command] = commands
    assert isinstance(command, RecordAudit)
    return command


@pytest.mark.parametrize("status", sorted(TaskStatus.ACTIVE | {TaskStatus.APPROVED}))
def test_a_manager_edits_a_task_that_is_not_over_and_its_status_stays(status: TaskStatus) -> None:
    task = task_in(status, overdue=True, due_at=NOW - timedelta(hours=1))
    edit = Edit(title="  Review permit 42 ", description="Plans attached", due_at=LATER)
    decided = decide_edit(task, edit, ACTORS["manager"], NOW, description="")
    after = decided.state
    assert after.status == status
    assert after.title == "Review permit 42"
    assert after.due_at == LATER
    assert after.overdue is False
    assert after.version == task.version + 1
    assert after.updated_at == NOW
    audit = _audit(decided.commands)
    assert audit.event == AuditEvent.HUMAN_TASK_UPDATED
    assert audit.actor_id == MANAGER_ID
    assert audit.data["changed"] == ["description", "due_at", "title"]
    assert audit.data["from"] == audit.data["to"] == status.value
    assert audit.data["previous_title"] == "Review permit"
    assert audit.data["due_at"] == LATER.isoformat()
    assert audit.data["previous_due_at"] == (NOW - timedelta(hours=1)).isoformat()


def test_only_the_named_fields_change() -> None:
    task = task_in(TaskStatus.OPEN, due_at=LATER, overdue=True)
    decided = decide_edit(
        task, Edit(description="new", reason="typo"), ACTORS["admin"], NOW, description="old"
    )
    assert decided.state.title == task.title
    assert decided.state.due_at == LATER
    assert decided.state.overdue is True
    audit = _audit(decided.commands)
    assert audit.data["changed"] == ["description"]
    assert audit.reason == "typo"
    assert "previous_title" not in audit.data


def test_a_deadline_can_be_removed() -> None:
    task = task_in(TaskStatus.ASSIGNED, due_at=LATER)
    decided = decide_edit(task, Edit(due_at=None), ACTORS["manager"], NOW, description="")
    assert decided.state.due_at is None
    assert _audit(decided.commands).data["due_at"] is None


def test_an_edit_that_changes_nothing_decides_nothing() -> None:
    task = task_in(TaskStatus.OPEN, due_at=LATER)
    same = Edit(title="Review permit", description="d", due_at=LATER)
    decided = decide_edit(task, same, ACTORS["manager"], NOW, description="d")
    assert decided.state == task
    assert decided.commands == ()


@pytest.mark.parametrize("status", sorted(TaskStatus.TERMINAL))
def test_a_task_that_is_over_is_not_edited(status: TaskStatus) -> None:
    with pytest.raises(TaskStateRefusal) as refused:
        decide_edit(task_in(status), Edit(title="x"), ACTORS["manager"], NOW, description="")
    assert refused.value.code == "invalid_state"
    assert refused.value.field == "status"


@pytest.mark.parametrize(
    ("actor", "code"),
    [("operator", "role_forbidden"), ("assignee", "role_forbidden")],
)
def test_only_managers_edit(actor: str, code: str) -> None:
    with pytest.raises(TaskActorRefusal) as refused:
        decide_edit(task_in(TaskStatus.OPEN), Edit(title="x"), ACTORS[actor], NOW, description="")
    assert refused.value.code == code


def test_another_departments_manager_may_not_edit() -> None:
    with pytest.raises(TaskActorRefusal) as refused:
        decide_edit(
            task_in(TaskStatus.OPEN), Edit(title="x"), ACTORS["other_manager"], NOW, description=""
        )
    assert refused.value.code == "other_department"


@pytest.mark.parametrize("title", ["", "   "])
def test_a_blank_title_is_refused(title: str) -> None:
    with pytest.raises(TaskInputRefusal) as refused:
        decide_edit(
            task_in(TaskStatus.OPEN), Edit(title=title), ACTORS["manager"], NOW, description=""
        )
    assert (refused.value.code, refused.value.field) == ("title_required", "title")


@pytest.mark.parametrize("due_at", [NOW, NOW - timedelta(seconds=1)])
def test_a_deadline_not_in_the_future_is_refused(due_at: object) -> None:
    with pytest.raises(TaskInputRefusal) as refused:
        decide_edit(
            task_in(TaskStatus.OPEN),
            msgspec.structs.replace(Edit(), due_at=due_at),
            ACTORS["manager"],
            NOW,
            description="",
        )
    assert (refused.value.code, refused.value.field) == ("due_in_past", "due_at")


def test_a_step_task_is_edited_too() -> None:
    task = task_in(TaskStatus.OPEN, step_bound=True)
    decided = decide_edit(task, Edit(due_at=LATER), ACTORS["manager"], NOW, description="")
    assert decided.state.due_at == LATER
    assert decided.state.step_bound is True
