"""Workflow outputs: computed by the outputs step after the last step of the file, whichever
path finished it, stored as that step's output and returned by the execution view; a value that
does not fit its type fails the execution with OUTPUTS_INVALID."""

from __future__ import annotations

import json

from govflow.bootstrap import Container
from govflow.usecases.audit import Actor
from govflow.usecases.operate import Resolution, resolve_step
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import install_workflow, step_rows

OPERATOR = Actor(user_id=None, email="operator@example.org")

WORKFLOW = """
name: with-outputs
title: With outputs
department: general-administration
inputs:
  n: {type: integer}
  label: {type: string, required: false}
vars:
  doubled: "{{ inputs.n * 2 }}"
steps:
  - {id: first, action: echo, with: {value: "{{ vars.doubled }}"}}
  - {id: second, action: echo, with: {value: "{{ steps.first.output.value + 1 }}"}}
outputs:
  total: {value: "{{ steps.second.output.value }}", type: integer}
  both: {value: ["{{ steps.first.status }}", "{{ steps.second.status }}"], type: array}
  label: {value: "{{ inputs.label }}", type: string}
"""


async def execution_row(engine: Container, execution_id: object) -> dict[str, object]:
    async with engine.db.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT status, error::text AS error FROM executions WHERE id = $1", execution_id
        )
        steps = await step_rows(conn, execution_id)  # type: ignore[arg-type]
    assert row is not None
    return {"status": row["status"], "error": row["error"], "steps": steps}


async def test_outputs_are_computed_stored_and_shown(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, WORKFLOW)
    started = await engine.start_execution(
        StartRequest(workflow="with-outputs", inputs={"n": 3, "label": "L-1"})
    )
    await engine.step_runner().run(started.first_step_id)  # type: ignore[arg-type]
    seen = await execution_row(engine, started.execution_id)
    assert seen["status"] == "COMPLETED"
    steps = seen["steps"]
    assert [(s["step_key"], s["status"]) for s in steps] == [  # type: ignore[attr-defined]
        ("first", "COMPLETED"),
        ("second", "COMPLETED"),
        ("outputs", "COMPLETED"),
    ]
    expected = {"total": 7, "both": ["COMPLETED", "COMPLETED"], "label": "L-1"}
    assert json.loads(steps[2]["output"]) == expected  # type: ignore[index]
    view = await engine.execution_reader.get(started.execution_id, None)
    assert view is not None
    assert view.outputs == expected
    assert view.vars == {"doubled": 6}
    assert view.steps[2].action == "$outputs"


async def test_an_output_that_does_not_fit_fails_the_execution(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, WORKFLOW)
    started = await engine.start_execution(StartRequest(workflow="with-outputs", inputs={"n": 1}))
    await engine.step_runner().run(started.first_step_id)  # type: ignore[arg-type]
    seen = await execution_row(engine, started.execution_id)
    assert seen["status"] == "FAILED"
    error = json.loads(str(seen["error"]))
    assert error == {
        "code": "OUTPUTS_INVALID",
        "message": "outputs.label: expected string, got null",
    }
    view = await engine.execution_reader.get(started.execution_id, None)
    assert view is not None
    assert view.outputs is None


async def test_an_operator_finishing_the_last_step_leads_to_the_outputs(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, WORKFLOW)
    started = await engine.start_execution(
        StartRequest(workflow="with-outputs", inputs={"n": 3, "label": "x"})
    )
    runner = engine.step_runner()
    runner.stopping.set()  # runs the first step only
    await runner.run(started.first_step_id)  # type: ignore[arg-type]
    async with engine.db.pool.acquire() as conn:
        # The state a crashed at-most-once attempt of the last step leaves behind.
        await conn.execute(
            "UPDATE execution_steps SET status = 'NEEDS_ATTENTION', attempt = 1, "
            "attempt_started = true, idempotency = 'at_most_once', next_attempt_at = NULL "
            "WHERE execution_id = $1 AND step_key = 'second'",
            started.execution_id,
        )
        await conn.execute(
            "UPDATE executions SET status = 'NEEDS_ATTENTION' WHERE id = $1", started.execution_id
        )
    result = await resolve_step(
        engine.control,
        engine.queue,
        started.execution_id,
        "second",
        Resolution.MARK_DONE,
        actor=OPERATOR,
        reason="done by hand",
        output={"value": 40},
    )
    assert result.execution_status == "RUNNING"  # not COMPLETED: the outputs step is next
    await engine.step_runner().run(result.woken[0])
    view = await engine.execution_reader.get(started.execution_id, None)
    assert view is not None
    assert view.status == "COMPLETED"
    assert view.outputs == {"total": 40, "both": ["COMPLETED", "COMPLETED"], "label": "x"}
