"""A real worker under the failures that used to lose their cause: an allocation beyond
``WORKER_MEMORY_LIMIT_MB``, an action raising ``SystemExit`` or ``KeyboardInterrupt``, and
templates that go beyond the expression limits only with an execution's data. Each fails its
step with the error recorded (per attempt too); the worker lives on and the other executions
complete."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from govflow.adapters.db.seed import seed_departments
from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.bootstrap import Container, container
from govflow.core.validation import validate_workflow
from govflow.plugins.manager import PluginManager
from govflow.settings import Settings
from govflow.usecases.audit import SYSTEM
from govflow.usecases.start_execution import StartRequest
from tests.support import memory_plugin
from tests.support.engine import eventually, plugins_for_tests, prepare_effects, processes

pytestmark = pytest.mark.e2e

MODULES = "tests.support.effects_plugin,tests.support.memory_plugin"
MEMORY_LIMIT_MB = 512
SETTLED = {"COMPLETED", "FAILED", "NEEDS_ATTENTION", "CANCELED"}

WORKFLOWS = {
    "memory-hog": f"""
name: memory-hog
title: Allocates four times the worker's ceiling
department: general-administration
defaults:
  retry: {{max_attempts: 2, initial_delay: 0s, jitter: false}}
steps:
  - {{id: hog, action: allocate, with: {{megabytes: {MEMORY_LIMIT_MB * 4}}}}}
""",
    "plugin-exit": """
name: plugin-exit
title: An action raising a BaseException
department: general-administration
inputs:
  kind: {type: enum, values: [SystemExit, KeyboardInterrupt]}
defaults:
  retry: {max_attempts: 1}
steps:
  - {id: leave, action: escape, with: {kind: "{{ inputs.kind }}"}}
""",
    "loop-bomb": """
name: loop-bomb
title: Nested loops over an input
department: general-administration
inputs:
  numbers: {type: array, items: integer}
steps:
  - id: render
    action: echo
    with:
      value: "{% for a in inputs.numbers %}{% for b in inputs.numbers %}\\
        {{ a }}{% endfor %}{% endfor %}"
""",
    "repeat-bomb": """
name: repeat-bomb
title: A string repeated as often as an input says
department: general-administration
inputs:
  n: {type: integer}
steps:
  - {id: render, action: echo, with: {value: "{{ 'a' * inputs.n }}"}}
""",
    "fine": """
name: fine
title: Cheap and expensive templates within the limits
department: general-administration
inputs:
  n: {type: integer}
steps:
  - {id: double, action: echo, with: {value: "{{ inputs.n * 2 }}"}}
  - {id: again, action: echo, with: {value: "{{ steps.double.output.value }}"}}
  - id: listed
    action: echo
    with: {value: "{% for i in [1, 2, 3] %}{{ i + steps.again.output.value }},{% endfor %}"}
""",
}


def plugins() -> PluginManager:
    manager = plugins_for_tests()
    manager.register(memory_plugin, name="tests.support.memory_plugin")
    return manager


async def install(conn: asyncpg.Connection, text: str) -> None:
    await seed_departments(conn)
    spec = validate_workflow(text, "<test>", plugins().actions().inputs())
    await PgWorkflowStore(conn).save(spec, text, None, SYSTEM)


@pytest.fixture
async def producer(settings: Settings, database_url: str) -> AsyncIterator[Container]:
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins()) as services:
        yield services


async def step_of(conn: asyncpg.Connection, execution_id: UUID) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT id, status, attempt, error::text AS error FROM execution_steps "
        "WHERE execution_id = $1 AND error IS NOT NULL ORDER BY position LIMIT 1",
        execution_id,
    )
    assert row is not None, f"no step of {execution_id} recorded an error"
    attempts = await conn.fetch(
        "SELECT attempt, outcome, error::text AS error FROM execution_step_attempts "
        "WHERE execution_step_id = $1 ORDER BY attempt",
        row["id"],
    )
    return {
        "status": row["status"],
        "error": json.loads(row["error"]),
        "attempts": [(a["attempt"], a["outcome"], json.loads(a["error"])) for a in attempts],
    }


async def test_failures_beyond_the_limits_are_recorded_and_the_worker_goes_on(
    settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for text in WORKFLOWS.values():
            await install(conn, text)
        with processes(
            settings,
            GOVFLOW_PLUGINS_MODULES=MODULES,
            WORKER_MEMORY_LIMIT_MB=str(MEMORY_LIMIT_MB),
            LEASE_SECONDS="5",
        ) as group:
            worker = group.start("worker", "--concurrency", "4")
            group.start("scheduler")

            async def start(workflow: str, **inputs: Any) -> UUID:
                request = StartRequest(workflow=workflow, inputs=inputs)
                return (await producer.start_execution(request)).execution_id

            hog = await start("memory-hog")
            leave = await start("plugin-exit", kind="SystemExit")
            interrupt = await start("plugin-exit", kind="KeyboardInterrupt")
            loops = await start("loop-bomb", numbers=list(range(3_000)))
            repeat = await start("repeat-bomb", n=10**9)
            fine = [await start("fine", n=n) for n in range(8)]
            ids = [hog, leave, interrupt, loops, repeat, *fine]

            async def statuses() -> dict[UUID, str]:
                rows = await conn.fetch("SELECT id, status FROM executions WHERE id = ANY($1)", ids)
                return {r["id"]: r["status"] for r in rows}

            settled = await eventually(
                statuses, lambda s: set(s.values()) <= SETTLED and len(s) == len(ids), timeout=90
            )
            assert worker.poll() is None, "the worker died"
        assert [settled[i] for i in fine] == ["COMPLETED"] * len(fine)
        outputs = await conn.fetch(
            "SELECT e.inputs->>'n' AS n, s.output->>'value' AS value FROM execution_steps s "
            "JOIN executions e ON e.id = s.execution_id "
            "WHERE s.execution_id = ANY($1) AND s.step_key = 'listed'",
            fine,
        )
        for row in outputs:
            twice = 2 * int(row["n"])
            assert row["value"] == "".join(f"{i + twice}," for i in (1, 2, 3))
        assert {settled[i] for i in (hog, leave, interrupt, loops, repeat)} == {"FAILED"}

        memory = await step_of(conn, hog)
        assert memory["error"] == {"code": "UNEXPECTED_ERROR", "message": "MemoryError"}
        assert memory["status"] == "FAILED"
        assert memory["attempts"] == [
            (1, "RETRY", memory["error"]),
            (2, "RETRY", memory["error"]),
        ]  # retried per the policy, the cause recorded each time

        exited = await step_of(conn, leave)
        assert exited["error"] == {
            "code": "UNEXPECTED_ERROR",
            "message": "SystemExit: the plugin called exit",
        }
        interrupted = await step_of(conn, interrupt)
        assert interrupted["error"] == {"code": "UNEXPECTED_ERROR", "message": "KeyboardInterrupt"}

        looped = await step_of(conn, loops)
        assert looped["error"]["code"] == "EXPRESSION_LIMIT"
        assert "more than 1,000,000 operations" in looped["error"]["message"]
        assert len(looped["attempts"]) == 1
        repeated = await step_of(conn, repeat)
        assert repeated["error"]["code"] == "EXPRESSION_LIMIT"
        assert "string result longer than 1,048,576 characters" in repeated["error"]["message"]
        lost = await conn.fetchval(
            "SELECT count(*) FROM execution_step_attempts a "
            "JOIN execution_steps s ON s.id = a.execution_step_id "
            "WHERE s.execution_id = ANY($1) "
            "AND 'LEASE_EXPIRED' IN (a.error ->> 'code', s.error ->> 'code')",
            ids,
        )
        assert lost == 0
    finally:
        await conn.close()
