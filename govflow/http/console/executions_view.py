"""What the execution pages show, computed from the use cases' views: rows of the list, a
step's timeline entry (durations, attempts, errors with their details, outputs), the diagram,
and which operator actions the viewer's role and the execution's state offer.

Plain functions of their arguments (``now`` passed in), so the templates only lay them out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from markupsafe import Markup

from govflow.core.roles import Role
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.core.timers import TIMER_WAIT
from govflow.http.console.workflows_diagram import FlowNode, flow_svg
from govflow.usecases.execution_views import (
    AttemptView,
    ExecutionFilter,
    ExecutionSummary,
    ExecutionView,
    StepDetail,
)
from govflow.usecases.principal import Principal

OPERATING_ROLES = frozenset({Role.ADMIN, Role.MANAGER})
"""Who may cancel, retry and resolve (as ``POST /workflow-executions/...`` allows)."""
REASON_LIMIT = 1000
DASH = "\u2013"
"""Shown for a time or a duration that has none yet."""
WORKFLOW_NAME_LIMIT = 64


def when(moment: datetime | None) -> str:
    """``2026-11-27 06:01:02 UTC``, or a dash."""
    if moment is None:
        return DASH
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(start: datetime | None, end: datetime | None, now: datetime) -> str:
    """How long from ``start`` to ``end`` (to ``now`` while running), in words a person reads."""
    if start is None:
        return DASH
    seconds = ((end or now) - start).total_seconds()
    if seconds < 1:
        return f"{max(seconds, 0) * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def pretty(value: Any) -> str | None:
    """JSON, indented, for a ``<pre>``; ``None`` when there is nothing to show."""
    if value is None or value == {} or value == []:
        return None
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def status_class(status: str) -> str:
    return "status-" + status.lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class ErrorShown:
    """An error as the timeline shows it: its message, its code, its details."""

    message: str
    code: str | None
    details: str | None


def error_shown(error: Any) -> ErrorShown | None:
    """An error of a step, an attempt or the execution (``{"message", "code", "details"}``)."""
    if error is None:
        return None
    if not isinstance(error, dict):
        return ErrorShown(message=str(error), code=None, details=None)
    rest = {k: v for k, v in error.items() if k not in ("message", "code")}
    code = error.get("code")
    return ErrorShown(
        message=str(error.get("message") or "error"),
        code=str(code) if code else None,
        details=pretty(rest.get("details", rest or None)),
    )


@dataclass(frozen=True, slots=True)
class AttemptShown:
    number: int
    outcome: str
    worker: str
    started: str
    took: str
    error: ErrorShown | None


@dataclass(frozen=True, slots=True)
class StepShown:
    """One entry of the timeline."""

    position: int
    key: str
    action: str
    status: str
    css: str
    attempts: str
    started: str
    finished: str
    took: str
    waiting: str | None
    next_attempt: str | None
    due: str | None
    """When the timer of a ``wait`` step is (or was) due."""
    error: ErrorShown | None
    output: str | None
    progress: str | None
    history: list[AttemptShown]
    resolvable: bool
    child: UUID | None = None
    """The child execution a ``workflow`` step started."""
    fireable: bool = False
    """A ``wait`` step waiting on its timer: an operator may fire it now."""


def attempt_shown(attempt: AttemptView, now: datetime) -> AttemptShown:
    return AttemptShown(
        number=attempt.attempt,
        outcome=attempt.outcome.value if attempt.outcome else "running",
        worker=attempt.worker or DASH,
        started=when(attempt.started_at),
        took=duration(attempt.started_at, attempt.finished_at, now),
        error=error_shown(attempt.error),
    )


def timeline(details: Sequence[StepDetail], now: datetime) -> list[StepShown]:
    shown = []
    for detail in details:
        step = detail.step
        shown.append(
            StepShown(
                position=step.position,
                key=step.step_key,
                action=step.action,
                status=step.status.value,
                css=status_class(step.status.value),
                attempts=f"{step.attempt} of {step.max_attempts}",
                started=when(step.started_at),
                finished=when(step.finished_at),
                took=duration(step.started_at, step.finished_at, now),
                waiting=step.wait_reason if step.status is StepStatus.WAITING else None,
                next_attempt=when(step.next_attempt_at) if step.next_attempt_at else None,
                due=when(step.due_at) if step.due_at else None,
                error=error_shown(step.error),
                output=pretty(step.output),
                progress=pretty(step.progress),
                history=[attempt_shown(a, now) for a in detail.attempts],
                resolvable=step.status is StepStatus.NEEDS_ATTENTION,
                child=step.child_execution_id,
                fireable=step.status is StepStatus.WAITING
                and step.wait_reason == TIMER_WAIT
                and step.due_at is not None,
            )
        )
    return shown


def diagram(execution: ExecutionView) -> Markup:
    nodes = [
        FlowNode(
            key=step.step_key,
            action=step.action,
            status=step.status.value,
            href=f"#step-{step.step_key}",
        )
        for step in execution.steps
    ]
    return flow_svg(nodes, title=f"Steps of {execution.workflow}, with their status")


@dataclass(frozen=True, slots=True)
class Offered:
    """The operator actions the page shows."""

    cancel: bool
    retry: bool
    resolve: bool


def offered(viewer: Principal, execution: ExecutionView) -> Offered:
    """What the viewer's role may do to the execution in its current status."""
    if viewer.role not in OPERATING_ROLES:
        return Offered(cancel=False, retry=False, resolve=False)
    status = execution.status
    return Offered(
        cancel=status not in ExecutionStatus.TERMINAL,
        retry=status is ExecutionStatus.FAILED,
        resolve=any(step.status is StepStatus.NEEDS_ATTENTION for step in execution.steps),
    )


@dataclass(frozen=True, slots=True)
class Row:
    id: UUID
    workflow: str
    version: int
    status: str
    css: str
    created: str
    started: str
    took: str


def rows(found: Sequence[ExecutionSummary], now: datetime) -> list[Row]:
    return [
        Row(
            id=e.id,
            workflow=e.workflow,
            version=e.workflow_version,
            status=e.status.value,
            css=status_class(e.status.value),
            created=when(e.created_at),
            started=when(e.started_at),
            took=duration(e.started_at, e.finished_at, now),
        )
        for e in found
    ]


def fingerprint(execution: ExecutionView) -> str:
    """What the live region shows, in short: the page's refresh sends it back, and an unchanged
    execution is answered with no content (nothing is swapped, open details stay open)."""
    parts = [execution.status.value, str(execution.finished_at)]
    for step in execution.steps:
        parts += [step.status.value, str(step.attempt), str(step.finished_at)]
        parts.append(str(step.progress_at))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def live(status: ExecutionStatus) -> bool:
    """Whether the page keeps refreshing (the execution may still change by itself)."""
    return status not in ExecutionStatus.TERMINAL


# -- the list's filters ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters as typed in the form, with the problems found in them."""

    status: str = ""
    workflow: str = ""
    department: str = ""
    started_from: str = ""
    started_to: str = ""

    def query(self) -> str:
        """The filters as a query string (for paging and the live refresh)."""
        pairs = {
            "status": self.status,
            "workflow": self.workflow,
            "department": self.department,
            "started_from": self.started_from,
            "started_to": self.started_to,
        }
        return urlencode({k: v for k, v in pairs.items() if v})


FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


def parse_day(text: str, field: str, errors: dict[str, str]) -> date | None:
    """A day typed in a date filter (``2026-01-31``); a problem is added to ``errors``."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[field] = "a date like 2026-01-31"
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        errors[field] = f"a date between {FIRST_DAY} and {LAST_DAY}"
        return None
    return day


def parse_filters(given: Filters) -> tuple[ExecutionFilter, dict[str, str]]:
    """The use case's filter from the form's values, and an error per field that is wrong
    (that filter is then left out)."""
    errors: dict[str, str] = {}
    status = None
    if given.status:
        try:
            status = ExecutionStatus(given.status)
        except ValueError:
            errors["status"] = "not a status"
    workflow = given.workflow.strip() or None
    if workflow is not None and len(workflow) > WORKFLOW_NAME_LIMIT:
        errors["workflow"] = f"at most {WORKFLOW_NAME_LIMIT} characters"
        workflow = None
    department = None
    if given.department:
        try:
            department = UUID(given.department)
        except ValueError:
            errors["department"] = "not a department"
    start_day = parse_day(given.started_from, "started_from", errors)
    end_day = parse_day(given.started_to, "started_to", errors)
    created_from = datetime.combine(start_day, time.min, UTC) if start_day else None
    created_to = datetime.combine(end_day + timedelta(days=1), time.min, UTC) if end_day else None
    if created_from and created_to and created_from >= created_to:
        errors["started_to"] = "must not be before the first day"
        created_to = None
    where = ExecutionFilter(
        status=status,
        workflow=workflow,
        department_id=department,
        created_from=created_from,
        created_to=created_to,
    )
    return where, errors


def check_reason(text: str | None) -> tuple[str, dict[str, str]]:
    """The reason an operator gives (required, at most 1000 characters)."""
    reason = (text or "").strip()
    if not reason:
        return "", {"reason": "give a reason: it is recorded in the audit log"}
    if len(reason) > REASON_LIMIT:
        return "", {"reason": f"at most {REASON_LIMIT} characters"}
    return reason, {}
