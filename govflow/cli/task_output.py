"""How the CLI prints human tasks: one-line summaries, the detail of one task, its form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import click

from govflow.core.statuses import HumanTaskStatus
from govflow.usecases.task_ports import TaskRecord
from govflow.usecases.task_views import PartyView, TaskView

Names = Mapping[UUID, str]
"""Users' emails and departments' codes by id (see ``govflow.bootstrap.actors.names_of``)."""


def ids_named(tasks: Iterable[TaskView], records: Iterable[TaskRecord] = ()) -> set[UUID | None]:
    """Every user and department id the tasks (and records) name, to look their names up."""
    ids: set[UUID | None] = set()
    for task in tasks:
        ids |= {task.assignee_id, task.department_id, task.submitted_by, task.decided_by}
        ids |= {*task.approved_by}
        for party in (task.offered_to, task.reviewers):
            if party is not None:
                ids |= {party.department_id, *party.users}
    ids |= {record.actor_id for record in records}
    return ids


def when(moment: datetime | None) -> str:
    """A time as the CLI prints it: ``2026-11-29 09:30 UTC``."""
    if moment is None:
        return "-"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _name(names: Names, value: UUID | None) -> str:
    if value is None:
        return "-"
    return names.get(value, str(value))


def party(view: PartyView, names: Names) -> str:
    """``role MANAGER, department urban-planning, users a@x, b@x`` (or ``anyone``)."""
    parts = []
    if view.role is not None:
        parts.append(f"role {view.role}")
    if view.department_id is not None:
        parts.append(f"department {_name(names, view.department_id)}")
    if view.users:
        parts.append("users " + ", ".join(_name(names, user) for user in view.users))
    return ", ".join(parts) or "anyone"


def holder(task: TaskView, names: Names) -> str:
    """Who holds the task: ``assignee: clerk@x`` or ``assignee: none, offered to role OPERATOR``."""
    if task.assignee_id is not None:
        return f"assignee: {_name(names, task.assignee_id)}"
    return f"assignee: none, offered to {party(task.offered_to, names)}"


def form_field(name: str, spec: Mapping[str, Any]) -> str:
    """``amount (number, required, min 0, max 1000) "Amount"``."""
    kind = str(spec.get("type", "string"))
    if spec.get("options"):
        kind += ": " + "|".join(str(option) for option in spec["options"])
    traits = [kind]
    if spec.get("required"):
        traits.append("required")
    for bound in ("min", "max"):
        if spec.get(bound) is not None:
            traits.append(f"{bound} {spec[bound]}")
    label = f' "{spec["label"]}"' if spec.get("label") else ""
    return f"{name} ({', '.join(traits)}){label}"


def summary_rows(tasks: list[TaskView], names: Names) -> list[tuple[str, ...]]:
    """The rows of ``tasks list``, with a header."""
    rows: list[tuple[str, ...]] = [("ID", "STATUS", "ASSIGNEE", "DUE", "TITLE")]
    for task in tasks:
        due = when(task.due_at) + (" (overdue)" if task.overdue else "")
        assignee = (
            _name(names, task.assignee_id)
            if task.assignee_id is not None
            else f"({party(task.offered_to, names)})"
        )
        rows.append((str(task.id), task.status, assignee, due, task.title))
    return rows


def echo_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def open_task_lines(task: TaskView, names: Names) -> list[str]:
    """What ``executions show`` prints under a WAITING step: the task it waits on."""
    lines = [
        f"task {task.id}  {task.status}  {task.title}",
        f"{holder(task, names)}; due {when(task.due_at)}{' (overdue)' * task.overdue}",
    ]
    if task.reviewers is not None:
        lines.append(
            f"reviewers: {party(task.reviewers, names)}"
            f" ({task.approvals_required} approval{'s' * (task.approvals_required != 1)})"
        )
    if task.form:
        lines.append("form: " + "; ".join(form_field(k, v) for k, v in task.form.items()))
    return lines


def detail_lines(task: TaskView, records: list[TaskRecord], names: Names) -> list[str]:
    """What ``tasks show`` prints: the task, its form fields, its submission and records."""
    lines = [f"task {task.id}  {task.status}  {task.title}"]
    if task.description:
        lines.append(f"  description: {task.description}")
    if task.execution_id is not None:
        lines.append(f"  execution: {task.execution_id}")
    lines.append(f"  department: {_name(names, task.department_id)}")
    lines.append(f"  {holder(task, names)}")
    if task.reviewers is not None:
        approved = ", ".join(_name(names, user) for user in task.approved_by) or "nobody yet"
        lines.append(
            f"  reviewers: {party(task.reviewers, names)}; {task.approvals_required} "
            f"approval{'s' * (task.approvals_required != 1)} needed, approved by {approved}"
        )
    lines.append(f"  due: {when(task.due_at)}{' (overdue)' * task.overdue}")
    if task.form:
        lines.append("  form:")
        lines.extend(f"    {form_field(name, spec)}" for name, spec in task.form.items())
    if task.submission is not None:
        lines.append(
            f"  submitted by {_name(names, task.submitted_by)} at {when(task.submitted_at)}:"
        )
        lines.extend(f"    {key} = {value!r}" for key, value in task.submission.items())
    if task.status == HumanTaskStatus.REJECTED or task.rejections:
        lines.append(f"  rejections: {task.rejections}, last reason: {task.rejection_reason}")
    if task.decision is not None:
        lines.append(f"  decision: {task.decision} by {_name(names, task.decided_by)}")
    if records:
        lines.append("  records:")
        for record in records:
            who = record.actor_email or (
                "the system" if record.actor_id is None else _name(names, record.actor_id)
            )
            reason = f": {record.reason}" if record.reason else ""
            lines.append(f"    {when(record.at)}  {record.action} by {who}{reason}")
    return lines
