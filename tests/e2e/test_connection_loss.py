"""Results survive dropped database connections.

A real worker and scheduler run executions of keyed effects while the test terminates their
database sessions (``pg_terminate_backend``) again and again. Every statement of the hot path
(claim, finish) and of the sweeper meets killed connections; each is retried on a fresh one, so
every step is recorded by the worker that ran it: no result is lost, no lease expires, no
recovery runs and no effect happens twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest

from govflow.bootstrap import Container, container
from govflow.core.audit_events import AuditEvent
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import eventually, install_workflow, plugins_for_tests, prepare_effects
from tests.support.engine import processes as run_processes

pytestmark = pytest.mark.e2e

EXECUTIONS = 40
"""Executions started at least; more are started, one every ``START_EVERY`` seconds, until the
chaos has terminated more than ``KILLS`` sessions (at most ``MAX_EXECUTIONS``), so that the work
meets that many losses however fast the machine runs it."""

KILLS = 40
MAX_EXECUTIONS = 400
START_EVERY = 0.05

CHAIN = """
name: keyed-chain
title: Three keyed effects
department: general-administration
defaults:
  retry: {max_attempts: 5, initial_delay: 0s, jitter: false}
steps:
  - {id: one, action: effect_remote_key, with: {label: one, sleep_ms: 20}}
  - {id: two, action: effect_remote_key, with: {label: two, sleep_ms: 20}}
  - {id: three, action: effect_remote_key, with: {label: three, sleep_ms: 20}}
"""

RECOVERY_EVENTS = [
    AuditEvent.WORKFLOW_EXECUTION_STEP_RECOVERED.value,
    AuditEvent.WORKFLOW_EXECUTION_RECOVERY_FAILED.value,
    AuditEvent.WORKFLOW_EXECUTION_STEP_LOOKUP_REQUESTED.value,
    AuditEvent.WORKFLOW_EXECUTION_PROCESS_SKIPPED.value,
    AuditEvent.WORKFLOW_EXECUTION_STEP_RETRY_SCHEDULED.value,
    AuditEvent.WORKFLOW_EXECUTION_PROCESS_TECHNICAL_FAILURE.value,
]

TERMINATE = """
SELECT count(*) FROM (
    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
     WHERE application_name IN ('govflow-worker', 'govflow-scheduler')
       AND datname = current_database()
       AND backend_start < now() - make_interval(secs => $1)) killed
"""
"""Every session of the worker and the scheduler older than ``FRESH_SECONDS``."""

FRESH_SECONDS = 0.25
"""A session is spared this long after it connected, so that a fresh connection can do its
work however slow the machine is: killing every session every few milliseconds would starve a
loaded machine's reconnections, an outage no retry budget outlasts (not the loss under test)."""


@pytest.fixture
async def producer(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Container]:
    monkeypatch.setenv("GOVFLOW_TEST_EFFECTS_DSN", database_url)
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


async def _statuses(conn: asyncpg.Connection, ids: list[UUID]) -> list[str]:
    rows = await conn.fetch("SELECT status FROM executions WHERE id = ANY($1)", ids)
    return sorted(r["status"] for r in rows)


class Chaos:
    """Terminates the worker's and the scheduler's database sessions until stopped."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.killed = 0
        self.stop = asyncio.Event()

    async def run(self) -> None:
        conn = await asyncpg.connect(self.database_url)
        try:
            while not self.stop.is_set():
                self.killed += await conn.fetchval(TERMINATE, FRESH_SECONDS)
                # Pacing, not synchronisation: kill often enough that statements meet dead
                # connections (every pooled connection dies within FRESH_SECONDS and this).
                await asyncio.sleep(0.05)
        finally:
            await conn.close()


async def test_terminated_connections_lose_no_step_result_and_run_no_effect_twice(
    settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, CHAIN)
        with run_processes(settings, LEASE_SECONDS="15") as group:
            group.start("worker", "--concurrency", "4")
            group.start("scheduler")
            # The worker reads a workflow version's spec once and keeps it; that read is not
            # one of the statements under test, so it happens before the chaos.
            warm = await producer.start_execution(StartRequest(workflow="keyed-chain"))
            await eventually(
                lambda: _statuses(conn, [warm.execution_id]), lambda s: s == ["COMPLETED"]
            )
            chaos = Chaos(database_url)
            chaos_task = asyncio.create_task(chaos.run())
            try:
                ids: list[UUID] = []
                while len(ids) < EXECUTIONS or (
                    chaos.killed <= KILLS and len(ids) < MAX_EXECUTIONS
                ):
                    started = await producer.start_execution(StartRequest(workflow="keyed-chain"))
                    ids.append(started.execution_id)
                    await asyncio.sleep(START_EVERY)  # pacing the load, not synchronisation
                await eventually(
                    lambda: _statuses(conn, ids),
                    lambda s: s == ["COMPLETED"] * len(ids),
                    timeout=120,
                )
            finally:
                chaos.stop.set()
                await chaos_task
        assert chaos.killed > KILLS, "the chaos did not terminate enough sessions"
        steps = len(ids) * 3
        ids_text = [str(i) for i in ids]
        per_key = await conn.fetch(
            "SELECT key, count(*) AS n FROM test_effects WHERE split_part(key, ':', 1) = ANY($1)"
            " GROUP BY key",
            ids_text,
        )
        assert len(per_key) == steps
        assert [r["key"] for r in per_key if r["n"] != 1] == []  # no effect ran twice
        attempts = await conn.fetch(
            "SELECT s.step_key, s.attempt, count(a.id) AS rows,"
            "       count(a.finished_at) AS finished"
            "  FROM execution_steps s LEFT JOIN execution_step_attempts a"
            "    ON a.execution_step_id = s.id"
            " WHERE s.execution_id = ANY($1)"
            " GROUP BY s.id, s.step_key, s.attempt",
            ids,
        )
        assert len(attempts) == steps
        # Every step was claimed once and its one attempt recorded by the worker that ran it.
        assert {(r["attempt"], r["rows"], r["finished"]) for r in attempts} == {(1, 1, 1)}
        recoveries = await conn.fetch(
            "SELECT action, count(*) FROM audit_logs WHERE action = ANY($1) GROUP BY action",
            RECOVERY_EVENTS,
        )
        assert [dict(r) for r in recoveries] == []
        completed = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE action = $1 AND metadata->>'execution_id'"
            " = ANY($2)",
            AuditEvent.WORKFLOW_EXECUTION_STEP_COMPLETED.value,
            ids_text,
        )
        assert completed == steps  # each result recorded exactly once
    finally:
        await conn.close()
