"""What an edit's refusals and records say, and each notice's text, compared whole."""

from __future__ import annotations

import msgspec
import pytest

from govflow.core.audit_events import AuditEvent
from govflow.core.tasks.edit import Edit, decide_edit
from govflow.core.tasks.model import Notify, Party, RecordAudit, TaskDecision
from govflow.core.tasks.notices import Notice, message_of, notices_for, task_channels
from govflow.core.tasks.refusals import TaskRefusal
from govflow.core.tasks.vocabulary import TaskStatus

from .support import ACTORS, ASSIGNEE_ID, MANAGER_ID, NOW, TASK_ID, task_in

MANAGER = ACTORS["manager"]


@pytest.mark.parametrize(
    ("status", "edit", "code", "field", "message"),
    [
        (
            TaskStatus.CLOSED,
            Edit(title="x"),
            "invalid_state",
            "status",
            "a CLOSED task can no longer be edited",
        ),
        (TaskStatus.OPEN, Edit(title="  "), "title_required", "title", "a task needs a title"),
        (
            TaskStatus.OPEN,
            Edit(due_at=NOW),
            "due_in_past",
            "due_at",
            "the deadline must lie in the future",
        ),
    ],
    ids=["over", "blank title", "past deadline"],
)
def test_each_edit_refusal_names_its_field_and_says_why(
    status: TaskStatus, edit: Edit, code: str, field: str, message: str
) -> None:
    with pytest.raises(TaskRefusal) as refused:
        decide_edit(task_in(status), edit, MANAGER, NOW, description="")
    assert (refused.value.code, refused.value.field, refused.value.message) == (
        code,
        field,
        message,
    )


def test_a_description_edit_records_only_what_changed() -> None:
    task = task_in(TaskStatus.OPEN)
    decided = decide_edit(task, Edit(description="new"), MANAGER, NOW, description="old")
    assert decided.commands == (
        RecordAudit(
            event=AuditEvent.HUMAN_TASK_UPDATED,
            actor_id=MANAGER_ID,
            reason=None,
            data={"from": "OPEN", "to": "OPEN", "changed": ["description"]},
        ),
    )


def test_a_notice_says_what_happened_to_which_task() -> None:
    assert message_of("Permit", TASK_ID, "overdue") == f'Task "Permit" ({TASK_ID}) is overdue.'
    assert message_of("Permit", TASK_ID, "reopened") == f'Task "Permit" ({TASK_ID}) reopened.'


def test_a_notice_to_nobody_is_skipped_and_the_next_one_still_sent() -> None:
    task = task_in(TaskStatus.ASSIGNED, version=3)
    channel = {"channel": "log"}
    decision = TaskDecision(
        state=task,
        commands=(
            Notify(why="assigned", to=Party()),
            Notify(why="overdue", to=Party(users=(ASSIGNEE_ID,))),
        ),
    )
    assert notices_for(decision, [channel]) == [
        Notice(
            key=f"task:{TASK_ID}:overdue:v3:0",
            task_id=TASK_ID,
            why="overdue",
            to=Party(users=(ASSIGNEE_ID,)),
            channel=channel,
            message=f'Task "Review permit" ({TASK_ID}) is overdue.',
        )
    ]


def test_the_channels_of_a_task_are_those_its_notify_names() -> None:
    channels = ({"channel": "log"}, {"channel": "webhook", "url": "https://example.org/h"})
    task = task_in(TaskStatus.OPEN)
    task = msgspec.structs.replace(
        task, policy=msgspec.structs.replace(task.policy, notify=channels)
    )
    assert task_channels(task) == channels
    assert task_channels(task_in(TaskStatus.OPEN)) == ()
