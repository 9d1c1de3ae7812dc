"""Workflow variables: evaluated once at the start, stored with the execution, read by steps."""

from __future__ import annotations

import json

import pytest

from govflow.bootstrap import Container
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import install_workflow, step_rows

WITH_VARS = """
name: with-vars
title: With variables
department: general-administration
inputs:
  who: {type: string}
  n: {type: integer, default: 2}
vars:
  greeting: "Hello {{ inputs.who | title }}"
  doubled: "{{ inputs.n * 2 }}"
  many: "{{ inputs.n > 3 }}"
  tags: ["{{ inputs.who }}", fixed]
steps:
  - {id: a, action: echo, with: {value: "{{ vars.greeting }}"}}
  - {id: b, action: echo, with: {value: "{{ vars.doubled + 1 }}"}}
  - {id: c, action: echo, if: vars.many, with: {value: skipped}}
  - {id: d, action: echo, with: {value: "{{ vars['tags'] }}"}}
"""


async def test_vars_are_stored_once_and_read_by_every_step(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, WITH_VARS)
    started = await engine.start_execution(
        StartRequest(workflow="with-vars", inputs={"who": "ada"})
    )
    await engine.step_runner().run(started.first_step_id)  # type: ignore[arg-type]
    async with engine.db.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT status, vars::text AS vars FROM executions WHERE id = $1",
            started.execution_id,
        )
        steps = await step_rows(conn, started.execution_id)
    assert row is not None
    assert row["status"] == "COMPLETED"
    assert json.loads(row["vars"]) == {
        "greeting": "Hello Ada",
        "doubled": 4,
        "many": False,
        "tags": ["ada", "fixed"],
    }
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("a", "COMPLETED"),
        ("b", "COMPLETED"),
        ("c", "SKIPPED"),
        ("d", "COMPLETED"),
    ]
    outputs = [json.loads(s["output"]) if s["output"] else None for s in steps]
    assert outputs[0] == {"value": "Hello Ada"}
    assert outputs[1] == {"value": 5}
    assert outputs[3] == {"value": ["ada", "fixed"]}


async def test_a_variable_that_fails_refuses_the_start_naming_it(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, WITH_VARS.replace("inputs.n * 2", "inputs.who * 'x'"))
    with pytest.raises(InvalidInputError) as caught:
        await engine.start_execution(StartRequest(workflow="with-vars", inputs={"who": "ada"}))
    assert [field for field, _ in caught.value.problems] == ["vars.doubled"]
    async with engine.db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM executions") == 0


async def test_a_variable_beyond_the_limits_refuses_the_start(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, WITH_VARS.replace("inputs.n * 2", "'x' * inputs.n"))
    with pytest.raises(InvalidInputError) as caught:
        await engine.start_execution(
            StartRequest(workflow="with-vars", inputs={"who": "ada", "n": 10_000_000})
        )
    [(field, message)] = caught.value.problems
    assert field == "vars.doubled"
    assert "longer than 1,048,576 characters" in message
