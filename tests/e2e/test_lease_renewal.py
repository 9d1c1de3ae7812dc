"""A step that runs longer than its lease keeps it: the worker renews the lease while the action
runs, so the sweeper never takes the step away and the action runs once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from govflow.bootstrap import Container, container
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import (
    eventually,
    execution_status,
    install_workflow,
    plugins_for_tests,
    prepare_effects,
    processes,
)

pytestmark = pytest.mark.e2e

LEASE_SECONDS = 2

LONG_STEP = f"""
name: long-step
title: One step three leases long
department: general-administration
defaults:
  retry: {{max_attempts: 3, initial_delay: 0s, jitter: false}}
steps:
  - {{id: long, action: effect_local, with: {{label: long, sleep_ms: {LEASE_SECONDS * 3000}}}}}
"""


@pytest.fixture
async def producer(settings: Settings, database_url: str) -> AsyncIterator[Container]:
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


async def test_a_step_longer_than_its_lease_runs_once_without_recovery(
    settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, LONG_STEP)
        with processes(settings, LEASE_SECONDS=str(LEASE_SECONDS)) as group:
            group.start("worker", "--concurrency", "2")
            group.start("scheduler")  # sweeps every 0.3 s: it would take an expired lease
            started = await producer.start_execution(StartRequest(workflow="long-step"))
            status = await eventually(
                lambda: execution_status(conn, started.execution_id),
                lambda s: s in ("COMPLETED", "FAILED", "NEEDS_ATTENTION"),
                timeout=60,
            )
        attempts = await conn.fetch(
            "SELECT a.attempt, a.outcome, a.finished_at - a.started_at AS took "
            "FROM execution_step_attempts a JOIN execution_steps s ON s.id = a.execution_step_id "
            "WHERE s.execution_id = $1 ORDER BY a.attempt",
            started.execution_id,
        )
        recoveries = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE action LIKE 'WORKFLOW_EXECUTION_RECOVERY%' "
            "OR action = 'WORKFLOW_EXECUTION_STEP_RECOVERED'"
        )
        effects = await conn.fetchval("SELECT count(*) FROM test_effects")
    finally:
        await conn.close()
    assert status == "COMPLETED"
    assert [(a["attempt"], a["outcome"]) for a in attempts] == [(1, "COMPLETED")]
    assert attempts[0]["took"].total_seconds() >= 3 * LEASE_SECONDS  # it did outlive its lease
    assert recoveries == 0
    assert effects == 1
