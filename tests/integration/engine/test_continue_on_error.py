"""continue_on_error in the engine with PostgreSQL: the failed step stays FAILED with its
error, the execution goes on and completes, and later steps read ``steps.<id>.status`` whether
they run in the same worker or in another one (from the claim)."""

from __future__ import annotations

import json

from govflow.bootstrap import Container
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import install_workflow, step_rows

WORKFLOW = """
name: tolerant
title: Goes on after a failure
department: general-administration
steps:
  - id: refused
    action: effect_none
    continue_on_error: true
    with: {label: refused, business_error: true}
  - id: fallback
    action: echo
    if: "steps.refused.status == 'FAILED'"
    with: {value: "{{ steps.refused.status }}/{{ steps.refused.output }}"}
  - id: strict
    action: effect_none
    with: {label: strict, business_error: true}
"""


async def test_a_failure_continues_and_the_next_failure_fails(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, WORKFLOW)
    started = await engine.start_execution(StartRequest(workflow="tolerant"))
    await engine.step_runner().run(started.first_step_id)  # type: ignore[arg-type]
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, started.execution_id)
        execution = await conn.fetchrow(
            "SELECT status, error::text AS error FROM executions WHERE id = $1",
            started.execution_id,
        )
        flags = await conn.fetch(
            "SELECT step_key, continue_on_error FROM execution_steps "
            "WHERE execution_id = $1 ORDER BY position",
            started.execution_id,
        )
        events = [
            (r["action"], r["reason"])
            for r in await conn.fetch(
                "SELECT action, reason FROM audit_logs WHERE action LIKE 'WORKFLOW_EXECUTION_%' "
                "AND metadata->>'execution_id' = $1::text ORDER BY id",
                str(started.execution_id),
            )
        ]
    assert [(f["step_key"], f["continue_on_error"]) for f in flags] == [
        ("refused", True),
        ("fallback", False),
        ("strict", False),
    ]
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("refused", "FAILED"),
        ("fallback", "COMPLETED"),
        ("strict", "FAILED"),
    ]
    assert json.loads(steps[0]["error"])["message"] == "refused: refused"
    assert json.loads(steps[1]["output"]) == {"value": "FAILED/None"}
    assert execution is not None
    assert execution["status"] == "FAILED"
    assert json.loads(execution["error"])["message"] == "refused: strict"  # the strict step's
    assert ("WORKFLOW_EXECUTION_STEP_FAILURE_CONTINUED", "business_error") in events
    assert events.count(("WORKFLOW_EXECUTION_STEP_FAILED", "business_error")) == 2
    assert events[-1] == ("WORKFLOW_EXECUTION_PROCESS_FAILED", "business_error")


async def test_another_worker_reads_the_failed_status_from_the_claim(engine: Container) -> None:
    tolerant_last = WORKFLOW.replace(
        "    with: {label: strict, business_error: true}", "    with: {label: strict}"
    )
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, tolerant_last)
    started = await engine.start_execution(StartRequest(workflow="tolerant"))
    first = engine.step_runner()
    first.stopping.set()  # it finishes its step and releases the next one
    await first.run(started.first_step_id)  # type: ignore[arg-type]
    released = engine.queue.woken[-1]  # type: ignore[attr-defined]
    assert released != started.first_step_id
    await engine.step_runner().run(released)
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, started.execution_id)
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
    assert status == "COMPLETED"
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("refused", "FAILED"),
        ("fallback", "COMPLETED"),
        ("strict", "COMPLETED"),
    ]
    assert json.loads(steps[1]["output"]) == {"value": "FAILED/None"}
