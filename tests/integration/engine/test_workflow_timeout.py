"""A workflow ``timeout``: each execution gets its deadline when created; the sweeper fails the
active executions past it, canceling their open steps and human tasks, and leaves the others."""

from __future__ import annotations

import json

from govflow.bootstrap import Container
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import install_workflow, step_rows

WORKFLOW = """
name: timed
title: Timed
department: general-administration
timeout: 2h
steps:
  - {id: first, action: echo, with: {value: 1}}
  - id: review
    action: manual
    with: {title: Review, assignee: {role: OPERATOR}}
  - {id: after, action: echo, with: {value: 2}}
"""


async def test_the_sweeper_fails_an_execution_past_its_deadline(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, WORKFLOW)
        await install_workflow(
            conn, WORKFLOW.replace("name: timed", "name: untimed").replace("timeout: 2h\n", "")
        )
    late = await engine.start_execution(StartRequest(workflow="timed"))
    on_time = await engine.start_execution(StartRequest(workflow="timed"))
    untimed = await engine.start_execution(StartRequest(workflow="untimed"))
    for started in (late, on_time, untimed):
        await engine.step_runner().run(started.first_step_id)  # type: ignore[arg-type]
    async with engine.db.pool.acquire() as conn:
        deadlines = {
            r["id"]: r["timeout"]
            for r in await conn.fetch(
                "SELECT id, extract(epoch FROM deadline_at - created_at) AS timeout FROM executions"
            )
        }
        assert deadlines == {late.execution_id: 7200, on_time.execution_id: 7200,
                             untimed.execution_id: None}  # fmt: skip
        # Two hours later, for one of them.
        await conn.execute(
            "UPDATE executions SET created_at = created_at - interval '3 hours', "
            "deadline_at = deadline_at - interval '3 hours' WHERE id = $1",
            late.execution_id,
        )
    report = await engine.sweeper().sweep_once()
    assert report.timed_out == 1
    assert (await engine.sweeper().sweep_once()).timed_out == 0  # it has ended: left alone
    async with engine.db.pool.acquire() as conn:
        rows = {
            r["id"]: (r["status"], r["error"])
            for r in await conn.fetch("SELECT id, status, error::text AS error FROM executions")
        }
        steps = await step_rows(conn, late.execution_id)
        tasks = await conn.fetch(
            "SELECT status FROM human_tasks WHERE execution_id = $1", late.execution_id
        )
        events = [
            (r["action"], r["reason"])
            for r in await conn.fetch(
                "SELECT action, reason FROM audit_logs WHERE metadata->>'execution_id' = $1 "
                "ORDER BY id",
                str(late.execution_id),
            )
        ]
    status, error = rows[late.execution_id]
    assert status == "FAILED"
    assert json.loads(error) == {
        "code": "EXECUTION_TIMED_OUT",
        "message": "the execution ran longer than its timeout (2h)",
    }
    assert rows[on_time.execution_id][0] == "WAITING"
    assert rows[untimed.execution_id][0] == "WAITING"
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("first", "COMPLETED"),
        ("review", "CANCELED"),
        ("after", "CANCELED"),
    ]
    assert [t["status"] for t in tasks] == ["CANCELED"]
    assert events[-4:] == [
        ("WORKFLOW_EXECUTION_STEP_CANCELED", "execution_timed_out"),
        ("WORKFLOW_EXECUTION_STEP_CANCELED", "execution_timed_out"),
        ("WORKFLOW_EXECUTION_PROCESS_FAILED", "execution_timed_out"),
        ("HUMAN_TASK_CANCELED", "execution_timed_out"),
    ]
