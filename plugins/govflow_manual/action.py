"""The ``manual`` action: open a human task and wait for its decision.

The action opens nothing itself: it resolves the people the task names (emails to user ids,
department codes to ids, through the host's :class:`~govflow.plugins.directory.Directory`, which
the plugin's ``govflow_startup`` keeps as its resources) and
raises ``Suspend(reason="human_task", payload=...)`` with the task; the host opens it and
completes the step when the task is decided (output: ``decision``, ``form``, ``submitted_by``,
``approved_by``, ``comments``). A named user who does not exist or is not active, or a
department that does not exist, fails the step as a business failure naming it: a task offered
to someone who can never act on it would wait forever.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from uuid import UUID

import msgspec

from govflow.core.tasks.model import TaskOutput
from govflow.plugins import Action, ActionContext, BusinessError, Idempotency, Suspend
from govflow.plugins.directory import Directory
from govflow_manual.inputs import EscalateTo, ManualInputs, Parties


class _Found(msgspec.Struct, frozen=True):
    users: Mapping[str, UUID]
    departments: Mapping[str, UUID]


def _named(params: ManualInputs) -> tuple[list[str], list[str]]:
    """Every email and department code the task names, once each, in order."""
    emails: dict[str, None] = {}
    codes: dict[str, None] = {}
    for party in (params.assignee, params.reviewers, params.escalate_to):
        if party is None:
            continue
        for email in _emails(party):
            emails[email.lower()] = None
        if party.department is not None:
            codes[party.department] = None
    return list(emails), list(codes)


def _emails(party: Parties | EscalateTo) -> tuple[str, ...]:
    if isinstance(party, Parties):
        return party.emails
    return () if party.user is None else (party.user,)


async def _lookup(ctx: ActionContext, emails: Sequence[str], codes: Sequence[str]) -> _Found:
    if not emails and not codes:
        return _Found({}, {})
    directory: Directory | None = ctx.resources
    if directory is None:
        raise BusinessError("this host cannot look users and departments up; name roles only")
    users = await directory.active_users(emails) if emails else {}
    departments = await directory.departments(codes) if codes else {}
    return _Found(users, departments)


def _party(party: Parties | EscalateTo | None, key: str, found: _Found) -> dict[str, Any] | None:
    """The party as the task stores it (``users``, ``role``, ``department_id``)."""
    if party is None:
        return None
    users: list[str] = []
    for email in _emails(party):
        user_id = found.users.get(email.lower())
        if user_id is None:
            raise BusinessError(f"{key}.user: no active user has the email {email!r}")
        if str(user_id) not in users:
            users.append(str(user_id))
    department_id = None
    if party.department is not None:
        department = found.departments.get(party.department)
        if department is None:
            raise BusinessError(
                f"{key}.department: no department has the code {party.department!r}"
            )
        department_id = str(department)
    return {
        "users": users,
        "role": None if party.role is None else party.role.value,
        "department_id": department_id,
    }


async def task_payload(ctx: ActionContext, params: ManualInputs) -> dict[str, Any]:
    """The task to open: the step's inputs with the people resolved to ids.

    :raises BusinessError: a named user is unknown or inactive, or a department unknown.
    """
    found = await _lookup(ctx, *_named(params))
    task = msgspec.to_builtins(params, order="deterministic")
    task["assignee"] = _party(params.assignee, "assignee", found)
    task["reviewers"] = _party(params.reviewers, "reviewers", found)
    task["escalate_to"] = _party(params.escalate_to, "escalate_to", found)
    task["notify"] = [
        {key: value for key, value in channel.items() if value is not None}
        for channel in task.get("notify") or ()
    ]
    task["idempotency_key"] = ctx.idempotency_key
    return task


class ManualAction(Action):
    """Open a human task and wait for its decision."""

    name: ClassVar[str] = "manual"
    description: ClassVar[str] = (
        "A human task: assign, fill in a form, submit, approve by N distinct reviewers (four eyes)."
    )
    inputs: ClassVar[type[msgspec.Struct]] = ManualInputs
    outputs: ClassVar[type[msgspec.Struct]] = TaskOutput
    """What the host completes the step with once the task is decided; ``form`` holds the
    fields ``with.form`` declares."""
    idempotency: ClassVar[Idempotency] = Idempotency.LOCAL

    async def execute(self, ctx: ActionContext, params: ManualInputs) -> Mapping[str, Any]:
        """Suspend the step with the task to open."""
        raise Suspend(reason="human_task", payload=await task_payload(ctx, params))
