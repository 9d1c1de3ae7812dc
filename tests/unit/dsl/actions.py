"""Action input Structs the DSL tests validate against (stand-ins, not the real plugins)."""

from __future__ import annotations

from typing import Literal

import msgspec
from govflow_jira.actions import JiraCommentAction, JiraTransitionAction
from govflow_manual.action import ManualAction
from govflow_manual.inputs import ManualInputs
from govflow_notification.action import NotificationAction
from govflow_wait import WaitInputs
from govflow_wait.action import WaitAction
from govflow_workflow import WorkflowInputs

from govflow.core.action_types import ActionTypes
from govflow.core.spec import Duration


class EchoInput(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``echo``: repeat a message."""

    message: str
    count: int = 1


class Assignee(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Who a task goes to."""

    role: str | None = None
    user: str | None = None


class AssignInput(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``assign``: a task with a nested assignee."""

    title: str
    assignee: Assignee
    due_in: Duration = "1d"
    tags: list[str] = msgspec.field(default_factory=list)


class NoticeInput(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A permissive ``notification`` stand-in for documentation examples."""

    channel: Literal["log", "webhook", "email"]
    message: str
    to: list[str] | None = None
    url: str | None = None
    subject: str | None = None


class OpenInput(msgspec.Struct, frozen=True):
    """Accepts any keys: stands in for actions whose inputs a test does not care about."""


TEST_ACTIONS = ActionTypes(
    {
        "echo": EchoInput,
        "assign": AssignInput,
        "manual": ManualInputs,
        "workflow": WorkflowInputs,
        "wait": WaitInputs,
    },
    # ``echo`` and ``assign`` declare no output: references to their outputs are not checked
    outputs={"manual": ManualAction.outputs, "wait": WaitAction.outputs},
)

DOC_ACTIONS = ActionTypes(
    {
        **TEST_ACTIONS,
        "notification": NoticeInput,
        "manual": OpenInput,
        "jira_comment": OpenInput,
        "jira_transition": OpenInput,
    },
    outputs={
        **TEST_ACTIONS.outputs,
        "notification": NotificationAction.outputs,
        "jira_comment": JiraCommentAction.outputs,
        "jira_transition": JiraTransitionAction.outputs,
    },
)
