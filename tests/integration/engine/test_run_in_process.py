"""The engine in one process: start an execution and drive its steps with a StepRunner."""

from __future__ import annotations

import asyncpg
import pytest

from govflow.bootstrap import Container
from govflow.usecases.errors import InvalidInputError, NotFoundError
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import install_workflow, step_rows

FIVE_ECHOES = """
name: five-echoes
title: Five echoes
department: general-administration
inputs:
  who: {type: string}
  n: {type: integer, default: 2}
steps:
  - {id: a, action: echo, with: {value: "{{ inputs.who }}"}}
  - {id: b, action: echo, with: {value: "{{ steps.a.output.value }}!"}}
  - {id: c, action: echo, if: "inputs.n > 5", with: {value: skipped}}
  - {id: d, action: echo, with: {value: "{{ inputs.n * 10 }}"}}
  - {id: e, action: echo, with: {value: "done"}}
"""


async def test_steps_run_in_order_with_templates_conditions_and_native_types(
    engine: Container,
) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, FIVE_ECHOES)
    started = await engine.start_execution(
        StartRequest(workflow="five-echoes", inputs={"who": "ada"})
    )
    assert engine.queue.woken == [started.first_step_id]  # type: ignore[attr-defined]
    runner = engine.step_runner()
    await runner.run(started.first_step_id)  # type: ignore[arg-type]
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, started.execution_id)
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
        events = [
            r["action"]
            for r in await conn.fetch(
                "SELECT action FROM audit_logs WHERE entity_id IN "
                "(SELECT id::text FROM execution_steps WHERE execution_id = $1) "
                "OR entity_id = $1::text ORDER BY id",
                started.execution_id,
            )
        ]
    assert status == "COMPLETED"
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("a", "COMPLETED"),
        ("b", "COMPLETED"),
        ("c", "SKIPPED"),
        ("d", "COMPLETED"),
        ("e", "COMPLETED"),
    ]
    assert steps[1]["output"] == '{"value": "ada!"}'
    assert steps[3]["output"] == '{"value": 20}'  # a single {{ }} keeps its native type
    assert events[0] == "WORKFLOW_EXECUTION_CREATED"
    assert events[1:3] == ["WORKFLOW_EXECUTION_PROCESS_STARTED", "WORKFLOW_EXECUTION_STEP_STARTED"]
    assert events.count("WORKFLOW_EXECUTION_STEP_STARTED") == 5
    assert events.count("WORKFLOW_EXECUTION_STEP_COMPLETED") == 4
    assert events.count("WORKFLOW_EXECUTION_STEP_SKIPPED") == 1
    assert events[-1] == "WORKFLOW_EXECUTION_PROCESS_COMPLETED"


async def test_the_same_message_ten_times_at_once_runs_the_step_once(engine: Container) -> None:
    import asyncio

    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, FIVE_ECHOES)
    started = await engine.start_execution(
        StartRequest(workflow="five-echoes", inputs={"who": "x"})
    )
    runners = [engine.step_runner() for _ in range(10)]
    await asyncio.gather(*(r.run(started.first_step_id) for r in runners))  # type: ignore[arg-type]
    async with engine.db.pool.acquire() as conn:
        attempts = await conn.fetchval(
            "SELECT count(*) FROM execution_step_attempts a JOIN execution_steps s "
            "ON s.id = a.execution_step_id WHERE s.execution_id = $1",
            started.execution_id,
        )
        steps = await step_rows(conn, started.execution_id)
    assert attempts == 5
    assert all(s["attempt"] == 1 for s in steps if s["status"] == "COMPLETED")


async def test_an_idempotency_key_returns_the_same_execution(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, FIVE_ECHOES)
    request = StartRequest(workflow="five-echoes", inputs={"who": "x"}, idempotency_key="k-1")
    first = await engine.start_execution(request)
    second = await engine.start_execution(request)
    assert first.created
    assert not second.created
    assert first.execution_id == second.execution_id
    assert engine.queue.woken == [first.first_step_id]  # type: ignore[attr-defined]


async def test_invalid_inputs_are_refused_with_their_field_and_nothing_is_written(
    engine: Container,
) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, FIVE_ECHOES)
    with pytest.raises(InvalidInputError) as caught:
        await engine.start_execution(
            StartRequest(workflow="five-echoes", inputs={"n": "many", "extra": 1})
        )
    fields = {field for field, _ in caught.value.problems}
    assert {"inputs.who", "inputs.n", "inputs.extra"} <= fields
    with pytest.raises(NotFoundError):
        await engine.start_execution(StartRequest(workflow="no-such-workflow"))
    async with engine.db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM executions") == 0


async def test_technical_failures_retry_with_backoff_then_business_errors_fail(
    engine: Container, database_url: str
) -> None:
    text = """
name: flaky
title: Flaky
department: general-administration
defaults:
  retry: {max_attempts: 3, initial_delay: 0s, jitter: false}
steps:
  - {id: flaky, action: effect_none, with: {fail_times: 2}}
  - {id: refuse, action: effect_none, with: {business_error: true}}
"""
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, text)
    started = await engine.start_execution(StartRequest(workflow="flaky"))
    runner = engine.step_runner()
    await runner.run(started.first_step_id)  # type: ignore[arg-type]
    for _ in range(5):
        woken = list(engine.queue.woken)  # type: ignore[attr-defined]
        for step_id in woken:
            await runner.run(step_id)
        await _drain_wakers(runner)
    conn = await asyncpg.connect(database_url)
    try:
        steps = await step_rows(conn, started.execution_id)
        execution = await conn.fetchrow(
            "SELECT status, error::text AS error FROM executions WHERE id = $1",
            started.execution_id,
        )
    finally:
        await conn.close()
    assert (steps[0]["status"], steps[0]["attempt"]) == ("COMPLETED", 3)
    assert (steps[1]["status"], steps[1]["attempt"]) == ("FAILED", 1)
    assert execution["status"] == "FAILED"
    assert "refused" in execution["error"]


async def _drain_wakers(runner: object) -> None:
    import asyncio

    wakers = list(getattr(runner, "_wakers", ()))
    if wakers:
        await asyncio.gather(*wakers)


async def test_the_hello_example_logs_and_audits_its_notification(engine: Container) -> None:
    from tests.support.engine import ROOT

    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, (ROOT / "workflows.d" / "hello.yaml").read_text())
    started = await engine.start_execution(StartRequest(workflow="hello", inputs={"who": "Ada"}))
    await engine.step_runner().run(started.first_step_id)  # type: ignore[arg-type]
    async with engine.db.pool.acquire() as conn:
        sent = await conn.fetch(
            "SELECT metadata->>'message' AS message, metadata->>'execution_id' AS execution "
            "FROM audit_logs WHERE action = 'NOTIFICATION_SENT'"
        )
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
    assert status == "COMPLETED"
    assert [(r["message"], r["execution"]) for r in sent] == [
        ("Hello, Ada!", str(started.execution_id))
    ]
