"""Action input Structs the DSL tests validate against (stand-ins, not the real plugins)."""

from __future__ import annotations

from typing import Literal

import msgspec
from govflow_wait import WaitInputs
from govflow_workflow import WorkflowInputs

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


TEST_ACTIONS: dict[str, type[msgspec.Struct]] = {
    "echo": EchoInput,
    "assign": AssignInput,
    "workflow": WorkflowInputs,
    "wait": WaitInputs,
}

DOC_ACTIONS: dict[str, type[msgspec.Struct]] = {
    **TEST_ACTIONS,
    "notification": NoticeInput,
    "manual": OpenInput,
    "jira_comment": OpenInput,
    "jira_transition": OpenInput,
}
