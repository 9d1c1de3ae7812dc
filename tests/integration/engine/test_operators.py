"""Operator actions: cancel, retry from the failed step, resolve a step that needs attention."""

from __future__ import annotations

import pytest

from govflow.bootstrap import Container
from govflow.usecases.audit import Actor
from govflow.usecases.errors import ConflictError, NotFoundError
from govflow.usecases.operate import Resolution, cancel_execution, resolve_step, retry_execution
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import install_workflow, step_rows

OPERATOR = Actor(name="ops", email="ops@example.org")

TWO_STEPS = """
name: two-steps
title: Two steps
department: general-administration
defaults:
  retry: {max_attempts: 1}
steps:
  - {id: first, action: effect_none, with: {business_error: "{{ inputs.refuse }}"}}
  - {id: second, action: echo, with: {value: 2}}
inputs:
  refuse: {type: boolean, default: false}
"""


@pytest.fixture(autouse=True)
async def two_steps(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, TWO_STEPS)


async def _audit_actions(engine: Container, execution_id: object) -> list[tuple[str, str | None]]:
    async with engine.db.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT action, actor_email FROM audit_logs WHERE metadata->>'execution_id' = $1 "
            "OR entity_id = $1 ORDER BY id",
            str(execution_id),
        )
    return [(r["action"], r["actor_email"]) for r in rows]


async def test_cancel_a_pending_execution_cancels_its_steps_and_is_audited(
    engine: Container,
) -> None:
    started = await engine.start_execution(StartRequest(workflow="two-steps"))
    result = await cancel_execution(
        engine.control, started.execution_id, actor=OPERATOR, reason="filed twice"
    )
    assert result.execution_status == "CANCELED"
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, started.execution_id)
    assert [s["status"] for s in steps] == ["CANCELED", "CANCELED"]
    assert ("WORKFLOW_EXECUTION_CANCELED", "ops@example.org") in await _audit_actions(
        engine, started.execution_id
    )
    # A message delivered afterwards claims nothing.
    await engine.step_runner().run(started.first_step_id)  # type: ignore[arg-type]
    async with engine.db.pool.acquire() as conn:
        assert [s["status"] for s in await step_rows(conn, started.execution_id)] == [
            "CANCELED",
            "CANCELED",
        ]
    with pytest.raises(ConflictError):
        await cancel_execution(engine.control, started.execution_id, actor=OPERATOR)


async def test_retry_runs_a_failed_execution_again_from_its_failed_step(
    engine: Container,
) -> None:
    started = await engine.start_execution(
        StartRequest(workflow="two-steps", inputs={"refuse": True})
    )
    runner = engine.step_runner()
    await runner.run(started.first_step_id)  # type: ignore[arg-type]
    async with engine.db.pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT status FROM executions WHERE id = $1", started.execution_id)
            == "FAILED"
        )
        # The refusal came from the data; fix it as an operator would, then retry.
        await conn.execute(
            "UPDATE executions SET inputs = '{\"refuse\": false}' WHERE id = $1",
            started.execution_id,
        )
    result = await retry_execution(
        engine.control, engine.queue, started.execution_id, actor=OPERATOR, reason="fixed"
    )
    assert result.woken == [started.first_step_id]
    await runner.run(started.first_step_id)  # type: ignore[arg-type]
    async with engine.db.pool.acquire() as conn:
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
        attempts = await conn.fetch(
            "SELECT attempt, outcome FROM execution_step_attempts WHERE execution_step_id = $1 "
            "ORDER BY id",
            started.first_step_id,
        )
    assert status == "COMPLETED"
    assert [(a["attempt"], a["outcome"]) for a in attempts] == [(1, "FAILED"), (1, "COMPLETED")]
    with pytest.raises(ConflictError):
        await retry_execution(engine.control, engine.queue, started.execution_id, actor=OPERATOR)


async def test_resolving_a_step_that_needs_attention(engine: Container) -> None:
    started = await engine.start_execution(StartRequest(workflow="two-steps"))
    async with engine.db.pool.acquire() as conn:
        # The state a crashed at-most-once attempt leaves behind.
        await conn.execute(
            "UPDATE execution_steps SET status = 'NEEDS_ATTENTION', attempt = 1, "
            "attempt_started = true, idempotency = 'at_most_once' WHERE id = $1",
            started.first_step_id,
        )
        await conn.execute(
            "UPDATE executions SET status = 'NEEDS_ATTENTION' WHERE id = $1", started.execution_id
        )
    with pytest.raises(NotFoundError):
        await resolve_step(
            engine.control,
            engine.queue,
            started.execution_id,
            "nope",
            Resolution.SKIP,
            actor=OPERATOR,
            reason="x",
        )
    result = await resolve_step(
        engine.control,
        engine.queue,
        started.execution_id,
        "first",
        Resolution.MARK_DONE,
        actor=OPERATOR,
        reason="the email did go out",
        output={"sent": True},
    )
    assert result.execution_status == "RUNNING"
    second = result.woken[0]
    await engine.step_runner().run(second)
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, started.execution_id)
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
    assert [(s["status"], s["output"]) for s in steps] == [
        ("COMPLETED", '{"sent": true}'),
        ("COMPLETED", '{"value": 2}'),
    ]
    assert status == "COMPLETED"
    assert ("WORKFLOW_EXECUTION_STEP_MARKED_DONE", "ops@example.org") in await _audit_actions(
        engine, started.execution_id
    )
