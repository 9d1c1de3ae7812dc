"""foreach in the engine with PostgreSQL: each item runs once with its own idempotency key, at
most max_parallel at once, the outputs come back in order; a bad list, too many items and a
failing item fail the step; a technical failure of one item re-runs that item only."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from govflow.bootstrap import Container
from govflow.usecases.audit import Actor
from govflow.usecases.operate import retry_execution
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import eventually, install_workflow, step_rows

WORKFLOW = """
name: each-parcel
title: Each parcel
department: general-administration
inputs:
  parcels: {type: array}
steps:
  - id: consult
    action: effect_none
    foreach: "{{ inputs.parcels }}"
    max_parallel: 3
    retry: {initial_delay: 500ms, jitter: false}
    with:
      label: "{{ index }}:{{ item }}"
      sleep_ms: 20
      business_error: "{{ item == 'refused' }}"
      fail_times: "{{ 1 if item == 'flaky' else 0 }}"
  - id: summary
    action: echo
    with: {value: "{{ steps.consult.output['items'] | map(attribute='label') | join(',') }}"}
"""


async def start(engine: Container, parcels: Any) -> tuple[UUID, UUID]:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, WORKFLOW)
    started = await engine.start_execution(
        StartRequest(workflow="each-parcel", inputs={"parcels": parcels})
    )
    assert started.first_step_id is not None
    return started.execution_id, started.first_step_id


async def effects(engine: Container, execution_id: UUID) -> list[tuple[str, str]]:
    async with engine.db.pool.acquire() as conn:
        key = await conn.fetchval(
            "SELECT idempotency_key FROM execution_steps WHERE execution_id = $1 "
            "AND step_key = 'consult'",
            execution_id,
        )
        rows = await conn.fetch(
            "SELECT key, label FROM test_effects WHERE key LIKE $1 || '[%' ORDER BY id", key
        )
    return [(r["key"].removeprefix(key), r["label"]) for r in rows]


async def test_items_run_once_each_and_their_outputs_come_in_order(engine: Container) -> None:
    parcels = [f"P-{n}" for n in range(7)]
    execution_id, first = await start(engine, parcels)
    await engine.step_runner().run(first)
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, execution_id)
        kept = await conn.fetchval(
            "SELECT count(*) FROM execution_step_items i JOIN execution_steps s "
            "ON s.id = i.execution_step_id WHERE s.execution_id = $1",
            execution_id,
        )
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("consult", "COMPLETED"),
        ("summary", "COMPLETED"),
    ]
    labels = [f"{n}:P-{n}" for n in range(7)]
    output = json.loads(steps[0]["output"])
    assert [item["label"] for item in output["items"]] == labels
    assert json.loads(steps[1]["output"]) == {"value": ",".join(labels)}
    assert sorted(await effects(engine, execution_id)) == sorted(
        (f"[{n}]", f"{n}:P-{n}") for n in range(7)
    )
    assert kept == 7


async def test_an_empty_list_completes_with_no_items(engine: Container) -> None:
    execution_id, first = await start(engine, [])
    await engine.step_runner().run(first)
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, execution_id)
    assert json.loads(steps[0]["output"]) == {"items": []}
    assert steps[1]["status"] == "COMPLETED"


async def test_a_failing_item_fails_the_step_naming_it(engine: Container) -> None:
    execution_id, first = await start(engine, ["a", "b", "refused", "c"])
    await engine.step_runner().run(first)
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, execution_id)
        status = await conn.fetchval("SELECT status FROM executions WHERE id = $1", execution_id)
    assert status == "FAILED"
    error = json.loads(steps[0]["error"])
    assert error["code"] == "FOREACH_ITEM_FAILED"
    assert error["message"] == "item 2 failed: BUSINESS_ERROR: refused: 2:refused"
    assert error["details"]["index"] == 2


async def test_too_many_items_fail_the_step(engine: Container) -> None:
    execution_id, first = await start(engine, ["a", "b", "c"])
    runner = engine.step_runner()
    runner.foreach_max_items = 2
    await runner.run(first)
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, execution_id)
    error = json.loads(steps[0]["error"])
    assert steps[0]["status"] == "FAILED"
    assert error["code"] == "FOREACH_TOO_MANY_ITEMS"
    assert error["message"] == (
        "foreach gave 3 items, more than the 2 allowed (the FOREACH_MAX_ITEMS setting)"
    )
    assert await effects(engine, execution_id) == []


async def test_not_a_list_fails_the_step(engine: Container) -> None:
    execution_id, first = await start(engine, [])
    async with engine.db.pool.acquire() as conn:
        await conn.execute(
            'UPDATE executions SET inputs = \'{"parcels": "P-1"}\' WHERE id = $1', execution_id
        )
    await engine.step_runner().run(first)
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, execution_id)
    error = json.loads(steps[0]["error"])
    assert (error["code"], error["message"]) == (
        "FOREACH_NOT_A_LIST",
        "foreach must give a list, it gave str",
    )


async def test_a_technical_failure_re_runs_only_the_items_without_a_result(
    engine: Container,
) -> None:
    execution_id, first = await start(engine, ["a", "flaky", "b", "c"])
    runner = engine.step_runner()
    await runner.run(first)
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, execution_id)
    assert (steps[0]["status"], steps[0]["attempt"]) == ("PENDING", 1)
    assert json.loads(steps[0]["error"])["message"] == "item 1: transient failure 1"

    async def run_again() -> str:
        await engine.step_runner().run(first)
        async with engine.db.pool.acquire() as conn:
            return str(
                await conn.fetchval("SELECT status FROM executions WHERE id = $1", execution_id)
            )

    assert await eventually(run_again, lambda status: status == "COMPLETED") == "COMPLETED"
    done = await effects(engine, execution_id)
    assert sorted(done) == [("[0]", "0:a"), ("[1]", "1:flaky"), ("[2]", "2:b"), ("[3]", "3:c")]


async def test_remote_lookup_items_are_looked_up_by_their_key_before_running_again(
    engine: Container,
) -> None:
    looked_up = WORKFLOW.replace("action: effect_none", "action: effect_remote_lookup").replace(
        "max_parallel: 3", "max_parallel: 1"
    )
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, looked_up)
    started = await engine.start_execution(
        StartRequest(workflow="each-parcel", inputs={"parcels": ["a", "flaky", "b", "c"]})
    )
    first = started.first_step_id
    assert first is not None
    await engine.step_runner().run(first)
    async with engine.db.pool.acquire() as conn:
        key = await conn.fetchval(
            "SELECT idempotency_key FROM execution_steps WHERE id = $1", first
        )
        # item 2's effect happened remotely, but its result was never kept (as after a crash)
        await conn.execute(
            "INSERT INTO test_effects (key, attempt, label) VALUES ($1, 7, '2:b')", f"{key}[2]"
        )

    async def run_again() -> str:
        await engine.step_runner().run(first)
        async with engine.db.pool.acquire() as conn:
            return str(
                await conn.fetchval("SELECT status FROM execution_steps WHERE id = $1", first)
            )

    assert await eventually(run_again, lambda status: status == "COMPLETED") == "COMPLETED"
    async with engine.db.pool.acquire() as conn:
        output = json.loads(
            await conn.fetchval("SELECT output::text FROM execution_steps WHERE id = $1", first)
        )
    assert [item["attempt"] for item in output["items"]] == [1, 2, 7, 2]
    assert sorted(await effects(engine, started.execution_id)) == [
        ("[0]", "0:a"),
        ("[1]", "1:flaky"),
        ("[2]", "2:b"),
        ("[3]", "3:c"),
    ]


async def test_an_unknown_secret_in_an_items_with_fails_the_step_naming_the_item(
    engine: Container,
) -> None:
    secretive = WORKFLOW.replace(
        'label: "{{ index }}:{{ item }}"', "label: \"{{ secret('NO_SUCH_SECRET') }}\""
    )
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, secretive)
    started = await engine.start_execution(
        StartRequest(workflow="each-parcel", inputs={"parcels": ["a"]})
    )
    assert started.first_step_id is not None
    await engine.step_runner().run(started.first_step_id)
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, started.execution_id)
    error = json.loads(steps[0]["error"])
    assert (steps[0]["status"], error["code"]) == ("FAILED", "FOREACH_ITEM_FAILED")
    assert error["details"]["code"] == "UNKNOWN_SECRET"


async def test_an_operators_retry_runs_only_the_items_without_a_result(engine: Container) -> None:
    execution_id, first = await start(engine, ["a", "b", "refused", "c", "d"])
    await engine.step_runner().run(first)
    async with engine.db.pool.acquire() as conn:
        # the refusal came from the data: fixed as an operator would, then retried
        await conn.execute(
            'UPDATE executions SET inputs = \'{"parcels": ["a", "b", "fixed", '
            '"c", "d"]}\' WHERE id = $1',
            execution_id,
        )
    operator = Actor(name="ops", email="ops@example.org")
    await retry_execution(engine.control, engine.queue, execution_id, actor=operator, reason="ok")
    await engine.step_runner().run(first)
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, execution_id)
    assert [s["status"] for s in steps] == ["COMPLETED", "COMPLETED"]
    labels = [item["label"] for item in json.loads(steps[0]["output"])["items"]]
    assert labels == ["0:a", "1:b", "2:fixed", "3:c", "4:d"]
    ran = [label for _, label in await effects(engine, execution_id)]
    assert sorted(ran) == labels  # the items kept before the failure did not run again
