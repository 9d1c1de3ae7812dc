"""A worker killed with SIGKILL while a round of group commit is on its way: nothing is lost,
nothing is recorded twice, no effect with a remote key happens twice.

One worker runs many executions at once, so its claims and finishes go in rounds of several
steps. The
test watches PostgreSQL for a round statement of the worker's in progress and kills the worker
then: the round may commit or not, its steps' worker is gone either way. The worker is restarted
(as ``govflow up`` does) and the scheduler recovers the steps whose lease expired.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import asyncpg
import pytest

from govflow.adapters.db.steps import CLAIM_ROUND, FINISH_ROUND, ROUND
from govflow.bootstrap import Container, container
from govflow.core.audit_events import AuditEvent
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import install_workflow, plugins_for_tests, prepare_effects, processes

pytestmark = pytest.mark.e2e

EXECUTIONS = 16
KILLS = 3
CHAIN = """
name: round-chain
title: Three keyed effects, many at once
department: general-administration
defaults:
  retry: {max_attempts: 5, initial_delay: 0s, jitter: false}
steps:
  - {id: one, action: effect_remote_key, with: {label: one, sleep_ms: 10}}
  - {id: two, action: effect_remote_key, with: {label: two, sleep_ms: 10}}
  - {id: three, action: effect_remote_key, with: {label: three, sleep_ms: 10}}
"""
ROUND_IN_PROGRESS = """
SELECT count(*) FROM pg_stat_activity
 WHERE datname = current_database() AND application_name = 'govflow-worker'
   AND state = 'active' AND left(query, 200) = ANY($1::text[])
"""
ROUND_STATEMENTS = [query.sql[:200] for query in (ROUND, CLAIM_ROUND, FINISH_ROUND)]
"""A round of claims and finishes, of claims only, of finishes only (as they start)."""
SETTLED = {"COMPLETED", "FAILED", "NEEDS_ATTENTION", "CANCELED"}


@pytest.fixture
async def producer(settings: Settings, database_url: str) -> AsyncIterator[Container]:
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


async def test_sigkill_during_a_round_loses_nothing_and_records_nothing_twice(
    settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    watcher = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, CHAIN)
        with processes(settings) as group:
            worker = group.start("worker", "--concurrency", "16")
            group.start("scheduler")
            ids = [
                (await producer.start_execution(StartRequest(workflow="round-chain"))).execution_id
                for _ in range(EXECUTIONS)
            ]
            kills = 0
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 120
            while True:
                statuses = {
                    r["id"]: r["status"]
                    for r in await conn.fetch(
                        "SELECT id, status FROM executions WHERE id = ANY($1)", ids
                    )
                }
                if all(s in SETTLED for s in statuses.values()) and kills >= 1:
                    break
                assert loop.time() < deadline, f"not settled: {statuses}, {kills} kills"
                if all(s in SETTLED for s in statuses.values()):  # too quick to be caught
                    ids += [
                        (
                            await producer.start_execution(StartRequest(workflow="round-chain"))
                        ).execution_id
                        for _ in range(EXECUTIONS)
                    ]
                if worker.poll() is not None:  # killed: restarted, as `govflow up` does
                    group.running.remove(worker)
                    worker = group.start("worker", "--concurrency", "16")
                elif kills < KILLS and await watcher.fetchval(ROUND_IN_PROGRESS, ROUND_STATEMENTS):
                    os.kill(worker.pid, signal.SIGKILL)
                    worker.wait()
                    kills += 1
                await asyncio.sleep(0.002)  # pacing the watch, not synchronisation
        assert kills >= 1
        assert set(statuses.values()) == {"COMPLETED"}
        keys = [f"{execution}:{step}" for execution in ids for step in ("one", "two", "three")]
        keyed = await conn.fetch(
            "SELECT key, count(*) AS n FROM test_remote_keyed WHERE key = ANY($1) GROUP BY key",
            keys,
        )
        assert {r["key"]: r["n"] for r in keyed} == dict.fromkeys(keys, 1)  # each effect once
        completed = await conn.fetch(
            "SELECT entity_id, count(*) AS n FROM audit_logs WHERE action = $1 "
            "AND metadata->>'execution_id' = ANY($2) GROUP BY entity_id",
            AuditEvent.WORKFLOW_EXECUTION_STEP_COMPLETED.value,
            [str(i) for i in ids],
        )
        assert len(completed) == len(keys)
        assert {r["n"] for r in completed} == {1}  # each result recorded once
        closed = await conn.fetch(
            "SELECT s.id, count(a.finished_at) FILTER (WHERE a.outcome = 'COMPLETED') AS n "
            "FROM execution_steps s JOIN execution_step_attempts a ON a.execution_step_id = s.id "
            "WHERE s.execution_id = ANY($1) GROUP BY s.id",
            ids,
        )
        assert {r["n"] for r in closed} == {1}  # one completed attempt per step
    finally:
        await watcher.close()
        await conn.close()
