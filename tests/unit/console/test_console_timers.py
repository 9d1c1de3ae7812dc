"""The console's execution page shows when a ``wait`` step's timer is due, and
``govflow executions show`` prints it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from uuid import uuid4

import jinja2
import pytest

import govflow.http.console as console
from govflow.cli.executions import Shown, _change, _settled, _step_notes
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.http.console.executions_view import timeline
from govflow.usecases.execution_views import ExecutionView, StepDetail, StepView

NOW = datetime(2031, 1, 1, tzinfo=UTC)
DUE = NOW + timedelta(days=14)
TEMPLATES = Path(console.__file__).parent / "templates"


def _step(status: StepStatus, due: datetime | None) -> StepView:
    return StepView(
        id=uuid4(), position=1, step_key="objections", action="wait", status=status, attempt=1,
        max_attempts=1, output=None, error=None, next_attempt_at=None, started_at=NOW,
        finished_at=None, wait_reason="timer", due_at=due,
    )  # fmt: skip


def _html(step: StepView) -> str:
    execution = ExecutionView(
        id=uuid4(), workflow_id=uuid4(), workflow="w", workflow_version=1, department_id=None,
        status=ExecutionStatus.WAITING, inputs={}, error=None, idempotency_key=None,
        created_by=None, created_at=NOW, started_at=NOW, finished_at=None, steps=[step],
    )  # fmt: skip
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return env.get_template("executions/_live.html").render(
        base="/ui",
        execution=execution,
        timeline=timeline([StepDetail(step=step, attempts=[])], NOW),
        task_links={},
        diagram="",
        live=False,
    )


def test_the_page_shows_the_due_time_of_a_timer() -> None:
    shown = timeline([StepDetail(step=_step(StepStatus.WAITING, DUE), attempts=[])], NOW)
    assert shown[0].due is not None
    assert shown[0].waiting == "timer"
    html = _html(_step(StepStatus.WAITING, DUE))
    assert f"<dt>Timer due</dt><dd>{shown[0].due}</dd>" in html


def test_a_step_without_a_timer_shows_none() -> None:
    shown = timeline([StepDetail(step=_step(StepStatus.PENDING, None), attempts=[])], NOW)
    assert shown[0].due is None
    assert "Timer due" not in _html(_step(StepStatus.PENDING, None))


def test_the_command_line_prints_the_due_time_while_the_step_waits() -> None:
    waiting = _step(StepStatus.WAITING, DUE)
    assert _step_notes(waiting) == ["timer due: 2031-01-15T00:00:00+00:00"]
    no_tasks = SimpleNamespace(tasks={})
    assert _change(waiting, no_tasks) == (  # type: ignore[arg-type]  # only its tasks are read
        "step objections: WAITING, timer due 2031-01-15T00:00:00+00:00"
    )
    assert _step_notes(_step(StepStatus.COMPLETED, DUE)) == []


def test_a_followed_execution_waiting_on_a_timer_says_how_it_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    step = _step(StepStatus.WAITING, DUE)
    execution = ExecutionView(
        id=uuid4(), workflow_id=uuid4(), workflow="w", workflow_version=1, department_id=None,
        status=ExecutionStatus.WAITING, inputs={}, error=None, idempotency_key=None,
        created_by=None, created_at=NOW, started_at=NOW, finished_at=None, steps=[step],
    )  # fmt: skip
    _settled(Shown(execution, {}, {}))
    lines = capsys.readouterr().out.splitlines()
    assert "       timer due: 2031-01-15T00:00:00+00:00" in lines
    assert lines[-1] == (
        "continue: the scheduler resumes step objections once its timer is due "
        "(2031-01-15T00:00:00+00:00), or an operator ends it now with "
        f"`govflow executions fire-timer {execution.id} objections --reason ...`; "
        f"follow it with `govflow executions wait {execution.id}`"
    )
