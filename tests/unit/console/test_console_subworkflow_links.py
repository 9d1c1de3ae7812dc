"""The console's execution page links a ``workflow`` step to its child execution, and a child
execution to the step that started it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import jinja2

import govflow.http.console as console
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.http.console.executions_view import timeline
from govflow.usecases.execution_views import ExecutionView, ParentLink, StepDetail, StepView

NOW = datetime(2031, 1, 1, tzinfo=UTC)
TEMPLATES = Path(console.__file__).parent / "templates"


def _step(status: StepStatus, child: UUID | None = None) -> StepView:
    return StepView(
        id=uuid4(), position=0, step_key="fees", action="workflow", status=status, attempt=1,
        max_attempts=3, output=None, error=None, next_attempt_at=None, started_at=NOW,
        finished_at=None, wait_reason="sub_workflow", child_execution_id=child,
    )  # fmt: skip


def _render(name: str, **context: object) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return env.get_template(name).render(**context)


def test_a_workflow_step_links_its_child() -> None:
    child = uuid4()
    shown = timeline([StepDetail(step=_step(StepStatus.WAITING, child), attempts=[])], NOW)
    assert shown[0].child == child
    execution = ExecutionView(
        id=uuid4(), workflow_id=uuid4(), workflow="w", workflow_version=1, department_id=None,
        status=ExecutionStatus.WAITING, inputs={}, error=None, idempotency_key=None,
        created_by=None, created_at=NOW, started_at=NOW, finished_at=None, steps=[],
    )  # fmt: skip
    html = _render(
        "executions/_live.html",
        base="/ui",
        execution=execution,
        timeline=shown,
        task_links={},
        diagram="",
        live=False,
    )
    assert f'<a href="/ui/executions/{child}" id="child-of-fees">{child}</a>' in html
    none = timeline([StepDetail(step=_step(StepStatus.PENDING), attempts=[])], NOW)
    assert none[0].child is None


def test_a_child_names_the_step_that_started_it() -> None:
    parent = ParentLink(execution_id=uuid4(), step_id=uuid4(), step_key="fees")
    execution = ExecutionView(
        id=uuid4(), workflow_id=uuid4(), workflow="w", workflow_version=1, department_id=None,
        status=ExecutionStatus.RUNNING, inputs={}, error=None, idempotency_key=None,
        created_by=None, created_at=NOW, started_at=NOW, finished_at=None, steps=[],
        parent=parent,
    )  # fmt: skip
    template = (TEMPLATES / "executions" / "page.html").read_text()
    line = next(x for x in template.splitlines() if "parent-execution" in x)
    env = jinja2.Environment(autoescape=True)
    html = env.from_string(line).render(base="/ui", execution=execution)
    assert html == (
        f'  <div><dt>Started by</dt><dd><a href="/ui/executions/{parent.execution_id}" '
        f'id="parent-execution">step fees of execution {parent.execution_id}</a></dd></div>'
    )
