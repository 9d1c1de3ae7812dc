"""``govflow executions show`` prints a completed execution's outputs under its status line."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from govflow.cli.executions import Shown, _print_detail
from govflow.core.statuses import ExecutionStatus
from govflow.usecases.execution_views import ExecutionView


def view(outputs: dict[str, object] | None) -> ExecutionView:
    return ExecutionView(
        id=uuid.UUID(int=7),
        workflow_id=uuid.uuid4(),
        workflow="fee-quote",
        workflow_version=1,
        department_id=None,
        status=ExecutionStatus.COMPLETED,
        inputs={},
        error=None,
        idempotency_key=None,
        created_by=None,
        created_at=datetime(2030, 1, 1, tzinfo=UTC),
        started_at=None,
        finished_at=None,
        steps=[],
        vars={"rate": 12.5},
        outputs=outputs,
    )


def test_the_outputs_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    _print_detail(Shown(view({"fee": 2500.0, "notified": True}), {}, {}))  # type: ignore[arg-type]
    assert capsys.readouterr().out.splitlines() == [
        "execution 00000000-0000-0000-0000-000000000007  fee-quote v1  COMPLETED",
        '  outputs: {"fee": 2500.0, "notified": true}',
    ]


def test_no_outputs_no_line(capsys: pytest.CaptureFixture[str]) -> None:
    _print_detail(Shown(view(None), {}, {}))  # type: ignore[arg-type]
    assert "outputs" not in capsys.readouterr().out
