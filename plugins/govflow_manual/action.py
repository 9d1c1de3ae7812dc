"""The ``manual`` action's inputs and behaviour."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from govflow.core.durations import DURATION_PATTERN
from govflow.core.roles import Role
from govflow.plugins import Action, ActionContext, Idempotency, Suspend

Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Duration = Annotated[str, msgspec.Meta(pattern=DURATION_PATTERN)]
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class Assignee(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Who may work on the task: exactly one of a role, a user (email) or a department."""

    role: Role | None = None
    user: Email | None = None
    department: NonEmpty | None = None

    def __post_init__(self) -> None:
        given = [name for name in ("role", "user", "department") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("assignee needs exactly one of role, user or department")


class Reviewer(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Who approves the submitted task; the submitter can never approve (four eyes)."""

    role: Role


class FormField(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One field of the form the assignee fills in."""

    type: Literal["string", "text", "number", "boolean", "date", "choice"] = "string"
    label: str | None = None
    required: bool = False
    options: list[str] | None = None

    def __post_init__(self) -> None:
        if (self.type == "choice") != bool(self.options):
            raise ValueError("options are required for a choice field and only for it")


class ManualInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The ``with:`` block of a ``manual`` step."""

    title: NonEmpty
    assignee: Assignee
    description: str | None = None
    reviewer: Reviewer | None = None
    due_in: Duration | None = None
    form: dict[str, FormField] | None = None


class ManualAction(Action):
    """Open a human task and wait until it is approved."""

    name: ClassVar[str] = "manual"
    description: ClassVar[str] = "A human task: assign, submit, approve (four eyes)."
    inputs: ClassVar[type[msgspec.Struct]] = ManualInputs
    idempotency: ClassVar[Idempotency] = Idempotency.LOCAL

    async def execute(self, ctx: ActionContext, params: ManualInputs) -> Mapping[str, Any]:
        """Suspend the step with the task to open."""
        task = msgspec.to_builtins(params, order="deterministic")
        task["idempotency_key"] = ctx.idempotency_key
        raise Suspend(reason="human_task", payload=task)
