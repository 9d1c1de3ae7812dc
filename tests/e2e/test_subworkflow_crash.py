"""A worker killed (SIGKILL) right after it started a child execution, before the parent's
step was recorded as waiting: the recovered attempt finds the same child (exactly one), and
the parent completes with the child's outputs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from govflow.adapters.db.seed import seed_departments
from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.bootstrap import Container, container
from govflow.core.validation import validate_workflow
from govflow.settings import Settings
from govflow.usecases.audit import SYSTEM
from govflow.usecases.start_execution import StartRequest
from tests.support import subworkflow_plugin
from tests.support.engine import (
    execution_status,
    install_workflow,
    plugins_for_tests,
    prepare_effects,
    processes,
)

pytestmark = pytest.mark.e2e

CHILD = """
name: crash-child
title: Child
department: general-administration
steps:
  - {id: work, action: echo, with: {value: 7}}
outputs:
  value: {value: "{{ steps.work.output.value }}", type: integer}
"""

PARENT = """
name: crash-parent
title: Parent whose worker dies after starting the child
department: general-administration
defaults:
  retry: {max_attempts: 3, initial_delay: 0s, jitter: false}
steps:
  - {id: child, action: workflow_crash, with: {name: crash-child}}
  - {id: after, action: echo, with: {value: "{{ steps.child.output.value }}"}}
outputs:
  value: {value: "{{ steps.after.output.value }}", type: integer}
"""


@pytest.fixture
async def producer(settings: Settings, database_url: str) -> AsyncIterator[Container]:
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


async def test_sigkill_after_the_child_started_leaves_one_child_and_a_completed_parent(
    settings: Settings, producer: Container, database_url: str
) -> None:
    manager = plugins_for_tests()
    manager.register(subworkflow_plugin, name="tests.support.subworkflow_plugin")
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, CHILD)
        await seed_departments(conn)
        spec = validate_workflow(PARENT, "<test>", manager.actions().inputs())
        await PgWorkflowStore(conn).save(spec, PARENT, None, SYSTEM)
        modules = "tests.support.effects_plugin,tests.support.subworkflow_plugin"
        with processes(settings, GOVFLOW_PLUGINS_MODULES=modules) as group:
            worker = group.start("worker", "--concurrency", "1")
            group.start("scheduler")
            started = await producer.start_execution(StartRequest(workflow="crash-parent"))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            restarted = False
            while await execution_status(conn, started.execution_id) not in {
                "COMPLETED",
                "FAILED",
                "CANCELED",
            }:
                assert loop.time() < deadline, "the parent did not settle"
                if not restarted and worker.poll() is not None:
                    group.running.remove(worker)
                    group.start("worker", "--concurrency", "1")
                    restarted = True
                await asyncio.sleep(0.05)
        assert restarted, "the worker was killed once"
        assert await execution_status(conn, started.execution_id) == "COMPLETED"
        children = await conn.fetch(
            "SELECT status FROM executions WHERE parent_execution_id = $1", started.execution_id
        )
        assert [c["status"] for c in children] == ["COMPLETED"]
        assert await conn.fetchval("SELECT count(*) FROM test_crashes") == 1
        attempts = await conn.fetchval(
            "SELECT attempt FROM execution_steps WHERE execution_id = $1 AND step_key = 'child'",
            started.execution_id,
        )
        assert attempts == 2
        view = await producer.execution_reader.get(started.execution_id, None)
        assert view is not None
        assert view.outputs == {"value": 7}
    finally:
        await conn.close()
