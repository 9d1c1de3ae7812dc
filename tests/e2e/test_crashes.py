"""Workers killed with SIGKILL at the worst moments: nothing is lost, nothing happens twice
where the strategy promises it.

The test plugin kills its own worker process (once per step) before the effect, in the middle
of the action, or after the effect but before the result is committed. Workers that die are
restarted, as ``govflow up`` does; the scheduler recovers the expired leases.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest

from govflow.bootstrap import Container, container
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import (
    Processes,
    install_workflow,
    plugins_for_tests,
    prepare_effects,
    processes,
)

pytestmark = pytest.mark.e2e

CRASH_POINTS = ("before_effect", "during_effect", "after_effect")
SETTLED = {"COMPLETED", "FAILED", "NEEDS_ATTENTION", "CANCELED"}


def workflow(strategy: str, crash: str) -> str:
    return f"""
name: crash-{strategy.replace("_", "-")}-{crash.replace("_", "-")}
title: Crash test
department: general-administration
defaults:
  retry: {{max_attempts: 5, initial_delay: 0s, jitter: false}}
steps:
  - {{id: effect, action: effect_{strategy}, with: {{crash: {crash}, sleep_ms: 600}}}}
  - {{id: after, action: echo, with: {{value: "{{{{ steps.effect.output.label }}}}"}}}}
"""


@pytest.fixture
async def producer(settings: Settings, database_url: str) -> AsyncIterator[Container]:
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


async def settle(
    conn: asyncpg.Connection, group: Processes, ids: list[UUID], timeout: float = 60.0
) -> dict[UUID, str]:
    """Wait until every execution settles, restarting workers that died meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await conn.fetch("SELECT id, status FROM executions WHERE id = ANY($1)", ids)
        statuses = {r["id"]: r["status"] for r in rows}
        if all(s in SETTLED for s in statuses.values()):
            return statuses
        if loop.time() > deadline:
            raise AssertionError(f"executions did not settle: {statuses}")
        for process in list(group.running):
            if process.poll() is not None and process.args[3] == "worker":  # type: ignore[index]
                group.running.remove(process)
                group.start("worker", "--concurrency", "1")
        await asyncio.sleep(0.05)


async def effects(conn: asyncpg.Connection, execution_id: UUID) -> tuple[int, int]:
    key = f"{execution_id}:effect"
    raw = await conn.fetchval("SELECT count(*) FROM test_effects WHERE key = $1", key)
    keyed = await conn.fetchval("SELECT count(*) FROM test_remote_keyed WHERE key = $1", key)
    return int(raw), int(keyed)


@pytest.mark.parametrize(
    "strategy", ["none", "local", "remote_lookup", "remote_key", "at_most_once"]
)
async def test_sigkill_at_each_crash_point_keeps_the_strategy_promise(
    strategy: str, settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for crash in CRASH_POINTS:
            await install_workflow(conn, workflow(strategy, crash))
        with processes(settings) as group:
            # One step at a time per worker: each SIGKILL hits exactly the step that asked.
            for _ in range(3):
                group.start("worker", "--concurrency", "1")
            group.start("scheduler")
            started = {
                crash: await producer.start_execution(
                    StartRequest(
                        workflow=f"crash-{strategy.replace('_', '-')}-{crash.replace('_', '-')}"
                    )
                )
                for crash in CRASH_POINTS
            }
            ids = [s.execution_id for s in started.values()]
            statuses = await settle(conn, group, ids)
        crashed = await conn.fetchval("SELECT count(*) FROM test_crashes")
        assert crashed == 3, "every crash point was reached once"
        for crash, result in started.items():
            status = statuses[result.execution_id]
            raw, keyed = await effects(conn, result.execution_id)
            attempts = await conn.fetchval(
                "SELECT attempt FROM execution_steps WHERE execution_id = $1 AND step_key = "
                "'effect'",
                result.execution_id,
            )
            where = f"{strategy}/{crash}: status {status}, effects {raw}, keyed {keyed}"
            if strategy == "at_most_once":
                assert status == "NEEDS_ATTENTION", where
                assert raw == (1 if crash == "after_effect" else 0), where
                continue
            assert status == "COMPLETED", where
            if strategy == "remote_lookup":
                assert raw == 1, where
            elif strategy == "remote_key":
                assert keyed == 1, where
            else:  # none, local: at least once, at most once per attempt
                assert 1 <= raw <= attempts, where
            if crash == "after_effect" and strategy == "remote_lookup":
                reasons = await conn.fetch(
                    "SELECT reason FROM audit_logs WHERE action = "
                    "'WORKFLOW_EXECUTION_STEP_SKIPPED' AND metadata->>'execution_id' = $1",
                    str(result.execution_id),
                )
                trail = await conn.fetch(
                    "SELECT action, reason, metadata::text FROM audit_logs WHERE "
                    "metadata->>'execution_id' = $1 OR entity_id = $1 ORDER BY id",
                    str(result.execution_id),
                )
                assert [r["reason"] for r in reasons] == ["already_applied_remote"], (
                    where + "\n" + "\n".join(map(str, trail))
                )
    finally:
        await conn.close()
