"""The console's view functions: the execution list's filters, the operator actions offered,
durations, the start form read back into typed inputs, errors mapped to fields, the diagram."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import msgspec
import pytest

from govflow.core.roles import Role
from govflow.core.spec_errors import SpecProblem
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.http.console.executions_view import (
    Filters,
    check_reason,
    duration,
    error_shown,
    fingerprint,
    offered,
    parse_filters,
    timeline,
)
from govflow.http.console.workflows_diagram import FlowNode, flow_svg
from govflow.http.console.workflows_view import (
    input_fields,
    posted_inputs,
    source_lines,
    start_errors,
)
from govflow.usecases.execution_views import ExecutionView, StepDetail, StepView
from govflow.usecases.principal import Principal

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_filters_become_the_use_case_filter_with_whole_days_in_utc() -> None:
    where, errors = parse_filters(
        Filters(
            status=ExecutionStatus.FAILED.value,
            workflow=" hello ",
            started_from="2026-11-01",
            started_to="2026-11-02",
        )
    )
    assert errors == {}
    assert where.status is ExecutionStatus.FAILED
    assert where.workflow == "hello"
    assert where.created_from == datetime(2026, 11, 1, tzinfo=UTC)
    assert where.created_to == datetime(2026, 11, 3, tzinfo=UTC)  # the whole second day


@pytest.mark.parametrize(
    ("given", "field"),
    [
        (Filters(status="DONE"), "status"),
        (Filters(department="not-a-uuid"), "department"),
        (Filters(started_from="31/12/2026"), "started_from"),
        (Filters(started_from="2026-11-05", started_to="2026-11-01"), "started_to"),
        (Filters(workflow="x" * 65), "workflow"),
    ],
)
def test_a_wrong_filter_is_named_and_left_out(given: Filters, field: str) -> None:
    where, errors = parse_filters(given)
    assert list(errors) == [field]
    assert where.status is None
    assert where.created_to is None or field != "started_to"


def test_the_query_keeps_only_the_filters_given() -> None:
    assert Filters(status=ExecutionStatus.PENDING.value, workflow="a b").query() == (
        f"status={ExecutionStatus.PENDING.value}&workflow=a+b"
    )


def _execution(status: ExecutionStatus, *steps: StepStatus) -> ExecutionView:
    return ExecutionView(
        id=uuid4(), workflow_id=uuid4(), workflow="w", workflow_version=1, department_id=None,
        status=status, inputs={}, error=None, idempotency_key=None, created_by=None,
        created_at=NOW, started_at=NOW, finished_at=None,
        steps=[
            StepView(
                id=uuid4(), position=i, step_key=f"s{i}", action="a", status=s, attempt=1,
                max_attempts=3, output=None, error=None, next_attempt_at=None, started_at=NOW,
                finished_at=None, wait_reason=None,
            )
            for i, s in enumerate(steps)
        ],
    )  # fmt: skip


def _viewer(role: Role) -> Principal:
    return Principal(user_id=uuid4(), email="x@example.org", role=role, department_id=None)


def test_operator_actions_follow_the_role_and_the_status() -> None:
    manager = _viewer(Role.MANAGER)
    running = offered(manager, _execution(ExecutionStatus.RUNNING, StepStatus.RUNNING))
    assert (running.cancel, running.retry, running.resolve) == (True, False, False)
    failed = offered(manager, _execution(ExecutionStatus.FAILED, StepStatus.FAILED))
    assert (failed.cancel, failed.retry, failed.resolve) == (False, True, False)
    stuck = _execution(ExecutionStatus.NEEDS_ATTENTION, StepStatus.NEEDS_ATTENTION)
    assert offered(manager, stuck).resolve
    operator = offered(_viewer(Role.OPERATOR), stuck)
    assert (operator.cancel, operator.retry, operator.resolve) == (False, False, False)


def test_a_reason_is_required_and_bounded() -> None:
    assert check_reason("  why  ") == ("why", {})
    assert "reason" in check_reason("   ")[1]
    assert "1000" in check_reason("x" * 1001)[1]["reason"]


def test_durations_read_as_a_person_would() -> None:
    assert duration(None, None, NOW) == "\u2013"
    assert duration(NOW, NOW + timedelta(milliseconds=250), NOW) == "250 ms"
    assert duration(NOW, NOW + timedelta(seconds=2.5), NOW) == "2.5 s"
    assert duration(NOW, NOW + timedelta(seconds=125), NOW) == "2 min 5 s"
    assert duration(NOW - timedelta(hours=2, minutes=3), None, NOW) == "2 h 3 min"


def test_an_error_shows_its_message_code_and_details() -> None:
    shown = error_shown({"message": "Jira said no", "code": "HTTP_403", "details": {"status": 403}})
    assert shown is not None
    assert (shown.message, shown.code) == ("Jira said no", "HTTP_403")
    assert shown.details is not None
    assert '"status": 403' in shown.details
    assert error_shown(None) is None
    plain = error_shown("boom")
    assert plain is not None
    assert plain.message == "boom"


INPUTS = {
    "plate": {"type": "string", "required": None, "pattern": "^[A-Z]+$", "description": "Plate"},
    "days": {"type": "integer", "required": None, "default": 7, "minimum": 1, "maximum": 30},
    "zone": {"type": "enum", "required": None, "values": ["north", "south"]},
    "urgent": {"type": "boolean", "required": None, "default": False},
    "tags": {"type": "array", "required": False},
}


def test_the_start_form_is_generated_from_the_inputs() -> None:
    fields = {f.name: f for f in input_fields(INPUTS, None)}
    assert fields["plate"].required
    assert "pattern ^[A-Z]+$" in fields["plate"].hint
    assert not fields["days"].required  # it has a default
    assert fields["days"].value == "7"
    assert fields["days"].attributes == {"step": "1", "min": "1", "max": "30", "type": "number"}
    assert fields["zone"].control == "select"
    assert [c.value for c in fields["zone"].choices] == ["north", "south"]
    assert fields["urgent"].control == "checkbox"
    assert fields["tags"].control == "textarea"


def test_posted_values_are_typed_and_unreadable_ones_named() -> None:
    posted = {"input.plate": "AB", "input.days": "12", "input.zone": "south", "input.urgent": "on"}
    values, errors = posted_inputs(INPUTS, posted)
    assert values == {"plate": "AB", "days": 12, "zone": "south", "urgent": True}
    assert errors == {}
    values, errors = posted_inputs(
        INPUTS, {"input.days": "seven", "input.zone": "east", "input.tags": "[1,"}
    )
    assert set(errors) == {"input.days", "input.zone", "input.tags"}
    assert values == {"urgent": False}


def test_the_use_cases_input_errors_land_on_their_fields() -> None:
    errors = start_errors(
        [("body.inputs.plate", "does not match"), ("body.inputs.tags[1]", "expected a string"),
         ("body.inputs", "unknown input 'x'")]
    )  # fmt: skip
    assert errors == {
        "input.plate": "does not match",
        "input.tags": "tags[1]: expected a string",
        "form": "unknown input 'x'",
    }


def test_problems_are_marked_on_their_lines() -> None:
    problem = SpecProblem(file="f.yaml", line=2, col=3, path="steps[0].action", message="unknown")
    lines = source_lines("a: 1\nb: 2\n", [problem])
    assert [line.problems for line in lines] == [[], ["2:3: steps[0].action: unknown"]]


def test_the_diagram_escapes_what_it_draws() -> None:
    svg = str(
        flow_svg([FlowNode(key="a", action="x", condition="inputs.n < 3 and '<b>'")], title="t")
    )
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg
    assert svg.startswith("<svg")
    assert svg.count('<g class="flow-step"') == 1


def test_the_fingerprint_changes_with_what_the_live_region_shows() -> None:
    waiting = _execution(ExecutionStatus.RUNNING, StepStatus.COMPLETED, StepStatus.RUNNING)
    assert fingerprint(waiting) == fingerprint(waiting)
    done = _execution(ExecutionStatus.RUNNING, StepStatus.COMPLETED, StepStatus.COMPLETED)
    assert fingerprint(done) != fingerprint(waiting)


def test_a_step_shows_what_it_waits_for_only_while_it_waits() -> None:
    execution = _execution(ExecutionStatus.RUNNING, StepStatus.WAITING, StepStatus.COMPLETED)
    steps = [msgspec.structs.replace(step, wait_reason="human_task") for step in execution.steps]
    shown = timeline([StepDetail(step=step, attempts=[]) for step in steps], NOW)
    assert [step.waiting for step in shown] == ["human_task", None]
