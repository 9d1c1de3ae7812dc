"""Sub-workflows with real worker and scheduler processes: a parent's ``workflow`` step starts
a child, waits for it and takes its outputs; a child that fails fails the parent naming it; a
canceled parent cancels its child; refusals (department, depth, unknown workflow, inputs) fail
the step naming the problem; the API shows the link both ways."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest

from govflow.bootstrap import Container, container
from govflow.settings import Settings
from govflow.usecases.audit import Actor
from govflow.usecases.operate import cancel_execution
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import (
    CollectingQueue,
    eventually,
    execution_status,
    install_workflow,
    plugins_for_tests,
    prepare_effects,
    processes,
)

OPERATOR = Actor(user_id=None, email="operator@example.org")
SETTLED = {"COMPLETED", "FAILED", "CANCELED"}

CHILD = """
name: sub-child
title: Child
department: general-administration
inputs:
  n: {type: integer}
steps:
  - {id: work, action: echo, with: {value: "{{ inputs.n * 10 }}"}}
outputs:
  total: {value: "{{ steps.work.output.value }}", type: integer}
"""

FAILING_CHILD = """
name: sub-child-fails
title: Child that fails
department: general-administration
steps:
  - {id: refuse, action: effect_none, with: {label: nope, business_error: true}}
"""

WAITING_CHILD = """
name: sub-child-waits
title: Child that waits for a person
department: general-administration
steps:
  - id: review
    action: manual
    with: {title: Review, assignee: {role: OPERATOR}}
"""

OTHER_DEPARTMENT = """
name: sub-elsewhere
title: Another department's
department: urban-planning
steps:
  - {id: work, action: echo, with: {value: 1}}
"""


def parent(name: str, child: str, with_inputs: str = "{}", version: str = "") -> str:
    return f"""
name: {name}
title: Parent
department: general-administration
inputs:
  n: {{type: integer, default: 4}}
steps:
  - id: child
    action: workflow
    with: {{name: {child}, {version}inputs: {with_inputs}}}
  - {{id: after, action: echo, with: {{value: "{{{{ steps.child.output.total }}}}"}}}}
outputs:
  total: {{value: "{{{{ steps.after.output.value }}}}", type: integer}}
"""


@pytest.fixture
async def producer(settings: Settings, database_url: str) -> AsyncIterator[Container]:
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


async def settled(conn: asyncpg.Connection, execution_id: UUID) -> str:
    return await eventually(
        lambda: execution_status(conn, execution_id), lambda status: status in SETTLED
    )


async def child_of(conn: asyncpg.Connection, execution_id: UUID) -> asyncpg.Record:
    rows = await conn.fetch(
        "SELECT c.id, c.status, c.depth, c.workflow_version_id, c.department_id "
        "FROM executions c WHERE c.parent_execution_id = $1",
        execution_id,
    )
    assert len(rows) == 1, rows
    return rows[0]


async def step_error(conn: asyncpg.Connection, execution_id: UUID) -> dict[str, object]:
    text = await conn.fetchval(
        "SELECT error::text FROM execution_steps WHERE execution_id = $1 AND step_key = 'child'",
        execution_id,
    )
    return dict(json.loads(text))


async def test_the_child_completes_and_its_outputs_flow_back(
    settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, CHILD)
        await install_workflow(conn, parent("sub-parent", "sub-child", "{n: '{{ inputs.n }}'}"))
        with processes(settings) as group:
            group.start("worker")
            group.start("scheduler")
            started = await producer.start_execution(
                StartRequest(workflow="sub-parent", inputs={"n": 4})
            )
            assert await settled(conn, started.execution_id) == "COMPLETED"
        child = await child_of(conn, started.execution_id)
        assert child["status"] == "COMPLETED"
        assert child["depth"] == 1
        view = await producer.execution_reader.get(started.execution_id, None)
        assert view is not None
        assert view.outputs == {"total": 40}
        assert view.steps[0].output == {"total": 40}
        assert view.steps[0].child_execution_id == child["id"]
        assert view.parent is None
        child_view = await producer.execution_reader.get(child["id"], None)
        assert child_view is not None
        assert child_view.parent is not None
        assert child_view.parent.execution_id == started.execution_id
        assert child_view.parent.step_key == "child"
        assert child_view.parent.step_id == view.steps[0].id
        resumed = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE reason = 'child_execution_ended' "
            "AND action = 'WORKFLOW_EXECUTION_STEP_COMPLETED' AND entity_id = $1",
            str(view.steps[0].id),
        )
        assert resumed == 1
    finally:
        await conn.close()


async def test_a_failed_child_fails_the_parent_naming_it(
    settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, FAILING_CHILD)
        await install_workflow(conn, parent("sub-parent-fails", "sub-child-fails"))
        with processes(settings) as group:
            group.start("worker")
            group.start("scheduler")
            started = await producer.start_execution(StartRequest(workflow="sub-parent-fails"))
            assert await settled(conn, started.execution_id) == "FAILED"
        child = await child_of(conn, started.execution_id)
        assert child["status"] == "FAILED"
        error = await step_error(conn, started.execution_id)
        assert error["code"] == "SUB_WORKFLOW_FAILED"
        assert error["message"] == (
            f"child execution {child['id']} failed (BUSINESS_ERROR: refused: nope)"
        )
        execution_error = await conn.fetchval(
            "SELECT error->>'code' FROM executions WHERE id = $1", started.execution_id
        )
        assert execution_error == "SUB_WORKFLOW_FAILED"
    finally:
        await conn.close()


async def test_canceling_the_parent_cancels_the_child(
    settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, WAITING_CHILD)
        await install_workflow(conn, parent("sub-parent-waits", "sub-child-waits"))
        with processes(settings) as group:
            group.start("worker")
            group.start("scheduler")
            started = await producer.start_execution(StartRequest(workflow="sub-parent-waits"))
            await eventually(
                lambda: execution_status(conn, started.execution_id), lambda s: s == "WAITING"
            )
            child = await child_of(conn, started.execution_id)
            await eventually(lambda: execution_status(conn, child["id"]), lambda s: s == "WAITING")
            await cancel_execution(
                producer.control, started.execution_id, actor=OPERATOR, reason="withdrawn"
            )
            assert await settled(conn, child["id"]) == "CANCELED"
        assert await execution_status(conn, started.execution_id) == "CANCELED"
        reason = await conn.fetchval(
            "SELECT reason FROM audit_logs WHERE action = 'WORKFLOW_EXECUTION_CANCELED' "
            "AND entity_id = $1",
            str(child["id"]),
        )
        assert reason == "parent_ended"
        task = await conn.fetchval(
            "SELECT status FROM human_tasks WHERE execution_id = $1", child["id"]
        )
        assert task == "CANCELED"
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("child", "inputs", "version", "code", "message"),
    [
        ("sub-elsewhere", "{}", "", "SUB_WORKFLOW_REFUSED", "another department"),
        ("sub-nowhere", "{}", "", "SUB_WORKFLOW_NOT_FOUND", "no workflow sub-nowhere exists"),
        ("sub-child", "{n: 1}", "version: 7, ", "SUB_WORKFLOW_NOT_FOUND", "version 7"),
        ("sub-child", "{n: x}", "", "SUB_WORKFLOW_INVALID_INPUTS", "inputs.n"),
    ],
)
async def test_a_refused_start_fails_the_step_naming_why(
    child: str,
    inputs: str,
    version: str,
    code: str,
    message: str,
    settings: Settings,
    producer: Container,
    database_url: str,
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, CHILD)
        await install_workflow(conn, OTHER_DEPARTMENT)
        await install_workflow(conn, parent("sub-parent-refused", child, inputs, version))
        runner = producer.step_runner()
        started = await producer.start_execution(StartRequest(workflow="sub-parent-refused"))
        await runner.run(started.first_step_id)  # type: ignore[arg-type]
        assert await execution_status(conn, started.execution_id) == "FAILED"
        error = await step_error(conn, started.execution_id)
        assert error["details"] == {"code": code}
        assert message in str(error["message"])
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM executions WHERE parent_execution_id = $1",
                started.execution_id,
            )
            == 0
        )
    finally:
        await conn.close()


RECURSIVE = """
name: sub-recursive
title: Starts itself
department: general-administration
steps:
  - id: child
    action: workflow
    with: {name: sub-recursive}
"""


async def test_a_workflow_starting_itself_stops_at_the_depth_limit(
    settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, RECURSIVE)
        with processes(settings, MAX_WORKFLOW_DEPTH="3") as group:
            group.start("worker")
            group.start("scheduler")
            started = await producer.start_execution(StartRequest(workflow="sub-recursive"))
            assert await settled(conn, started.execution_id) == "FAILED"
        rows = await conn.fetch(
            "SELECT depth, status FROM executions WHERE workflow_id = "
            "(SELECT id FROM workflows WHERE name = 'sub-recursive') ORDER BY depth"
        )
        assert [(r["depth"], r["status"]) for r in rows] == [
            (0, "FAILED"),
            (1, "FAILED"),
            (2, "FAILED"),
            (3, "FAILED"),
        ]
        deepest = await conn.fetchval(
            "SELECT s.error->'details'->>'code' FROM execution_steps s "
            "JOIN executions e ON e.id = s.execution_id WHERE e.depth = 3"
        )
        assert deepest == "SUB_WORKFLOW_TOO_DEEP"
    finally:
        await conn.close()


GRAPH_CHILD = """
name: sub-child-graph
title: Child whose first steps run in parallel
department: general-administration
steps:
  - {id: a, action: echo, with: {value: 1}, needs: []}
  - {id: b, action: echo, with: {value: 2}, needs: []}
  - id: join
    action: echo
    needs: [a, b]
    with: {value: "{{ steps.a.output.value + steps.b.output.value }}"}
outputs:
  total: {value: "{{ steps.join.output.value }}", type: integer}
"""


async def test_a_graph_child_has_every_first_step_woken(producer: Container) -> None:
    async with producer.db.pool.acquire() as conn:
        await install_workflow(conn, GRAPH_CHILD)
        await install_workflow(conn, parent("sub-parent-graph", "sub-child-graph"))
    queue = CollectingQueue()
    producer.queue = queue  # type: ignore[assignment]
    started = await producer.start_execution(StartRequest(workflow="sub-parent-graph"))
    runner = producer.step_runner()
    queue.woken.clear()
    await runner.run(started.first_step_id)  # type: ignore[arg-type]
    async with producer.db.pool.acquire() as conn:
        child = await child_of(conn, started.execution_id)
        roots = await conn.fetch(
            "SELECT id FROM execution_steps WHERE execution_id = $1 AND step_key IN ('a', 'b') "
            "ORDER BY position",
            child["id"],
        )
    assert queue.woken == [r["id"] for r in roots]
    while queue.woken:
        await runner.run(queue.woken.pop(0))
    view = await producer.execution_reader.get(started.execution_id, None)
    assert view is not None
    assert view.status == "COMPLETED"
    assert view.outputs == {"total": 3}
