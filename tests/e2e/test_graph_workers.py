"""Graphs of steps run by real worker processes: the branches of a fork run at the same time
and the join runs once; a worker killed with SIGKILL while a branch runs
loses no branch, and the join still runs once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest

from govflow.bootstrap import Container, container
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.e2e.test_crashes import settle
from tests.support.engine import install_workflow, plugins_for_tests, prepare_effects, processes

pytestmark = pytest.mark.e2e


def diamond(name: str, crash: str | None = None) -> str:
    crashing = f", crash: {crash}" if crash else ""
    return f"""
name: {name}
title: A fork and a join
department: general-administration
defaults:
  retry: {{max_attempts: 5, initial_delay: 0s, jitter: false}}
steps:
  - {{id: intake, action: echo, with: {{value: in}}}}
  - id: legal
    action: effect_none
    needs: [intake]
    with: {{label: legal, sleep_ms: 1500{crashing}}}
  - id: fire
    action: effect_none
    needs: [intake]
    with: {{label: fire, sleep_ms: 1500}}
  - id: decide
    action: echo
    needs: [legal, fire]
    with: {{value: "{{{{ steps.legal.output.label }}}}+{{{{ steps.fire.output.label }}}}"}}
"""


@pytest.fixture
async def producer(settings: Settings, database_url: str) -> AsyncIterator[Container]:
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


async def attempts(conn: asyncpg.Connection, execution_id: UUID) -> dict[str, list[asyncpg.Record]]:
    rows = await conn.fetch(
        "SELECT s.step_key, a.worker, a.started_at, a.finished_at, a.outcome "
        "FROM execution_step_attempts a JOIN execution_steps s ON s.id = a.execution_step_id "
        "WHERE s.execution_id = $1 ORDER BY a.id",
        execution_id,
    )
    found: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        found.setdefault(row["step_key"], []).append(row)
    return found


async def test_the_branches_run_at_once_and_the_join_once(
    settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, diamond("fork-join"))
        with processes(settings) as group:
            for _ in range(2):
                group.start("worker", "--concurrency", "2")
            group.start("scheduler")
            started = await producer.start_execution(StartRequest(workflow="fork-join"))
            statuses = await settle(conn, group, [started.execution_id])
        runs = await attempts(conn, started.execution_id)
        output = await conn.fetchval(
            "SELECT output->>'value' FROM execution_steps WHERE execution_id = $1 "
            "AND step_key = 'decide'",
            started.execution_id,
        )
    finally:
        await conn.close()
    assert statuses[started.execution_id] == "COMPLETED"
    assert [len(runs[key]) for key in ("intake", "legal", "fire", "decide")] == [1, 1, 1, 1]
    legal, fire = runs["legal"][0], runs["fire"][0]
    assert legal["started_at"] < fire["finished_at"]
    assert fire["started_at"] < legal["finished_at"], "the branches overlapped"
    assert runs["decide"][0]["started_at"] >= max(legal["finished_at"], fire["finished_at"])
    assert output == "legal+fire"


async def test_a_worker_killed_in_a_branch_loses_no_branch_and_the_join_runs_once(
    settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, diamond("fork-join-crash", crash="during_effect"))
        with processes(settings) as group:
            for _ in range(2):
                group.start("worker", "--concurrency", "1")
            group.start("scheduler")
            started = await producer.start_execution(StartRequest(workflow="fork-join-crash"))
            statuses = await settle(conn, group, [started.execution_id])
        crashed = await conn.fetchval("SELECT count(*) FROM test_crashes")
        runs = await attempts(conn, started.execution_id)
        steps = await conn.fetch(
            "SELECT step_key, status FROM execution_steps WHERE execution_id = $1 "
            "ORDER BY position",
            started.execution_id,
        )
    finally:
        await conn.close()
    assert crashed == 1, "the worker running legal was killed once"
    assert statuses[started.execution_id] == "COMPLETED"
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("intake", "COMPLETED"),
        ("legal", "COMPLETED"),
        ("fire", "COMPLETED"),
        ("decide", "COMPLETED"),
    ]
    assert len(runs["legal"]) >= 2, "the killed attempt was recovered and run again"
    assert runs["legal"][0]["outcome"] != "COMPLETED"
    assert len(runs["fire"]) == 1
    assert len(runs["decide"]) == 1, "the join ran once"
    assert [r["outcome"] for r in runs["decide"]] == ["COMPLETED"]
