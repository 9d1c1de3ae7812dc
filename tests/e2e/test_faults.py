"""Faults around the workers: Redis lost, database connections killed, cancel racing a step."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from govflow.adapters.embedded.redis import _redis_server_binary
from govflow.bootstrap import Container, container
from govflow.settings import Settings
from govflow.usecases.audit import Actor
from govflow.usecases.operate import cancel_execution
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import (
    eventually,
    install_workflow,
    plugins_for_tests,
    prepare_effects,
    processes,
    step_rows,
)

pytestmark = pytest.mark.e2e

CHAIN = """
name: chain
title: Three slow steps
department: general-administration
defaults:
  retry: {max_attempts: 10, initial_delay: 0s, jitter: false}
steps:
  - {id: one, action: effect_remote_key, with: {label: one, sleep_ms: 100}}
  - {id: two, action: effect_remote_key, with: {label: two, sleep_ms: 100}}
  - {id: three, action: effect_remote_key, with: {label: three, sleep_ms: 100}}
"""


class VolatileRedis:
    """A Redis that keeps nothing on disk, for tests that kill and restart it."""

    def __init__(self, folder: Path) -> None:
        self.socket = folder / "r.sock"
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [str(_redis_server_binary()), "--port", "0", "--unixsocket", str(self.socket),
             "--dir", str(self.folder), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def volatile_redis() -> Iterator[VolatileRedis]:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="gfr-", dir="/tmp"))
    redis = VolatileRedis(folder)
    redis.start()
    yield redis
    if redis.process and redis.process.poll() is None:
        redis.kill()


@pytest.fixture
async def producer_settings(
    settings: Settings, database_url: str, volatile_redis: VolatileRedis
) -> Settings:
    await prepare_effects(database_url)
    return settings.model_copy(update={"redis_url": volatile_redis.url})


@pytest.fixture
async def producer(producer_settings: Settings) -> AsyncIterator[Container]:
    async with container(producer_settings, plugins=plugins_for_tests()) as services:
        yield services


async def _statuses(conn: asyncpg.Connection, ids: list[object]) -> list[str]:
    rows = await conn.fetch("SELECT status FROM executions WHERE id = ANY($1)", ids)
    return sorted(r["status"] for r in rows)


async def _wait_for_socket(path: Path) -> None:
    await eventually(lambda: asyncio.sleep(0, path.exists()), bool, timeout=10)


async def test_redis_lost_mid_run_without_persistence_loses_no_execution(
    producer_settings: Settings,
    producer: Container,
    database_url: str,
    volatile_redis: VolatileRedis,
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, CHAIN)
        with processes(producer_settings) as group:
            group.start("worker", "--concurrency", "4")
            group.start("scheduler")
            ids = [
                (await producer.start_execution(StartRequest(workflow="chain"))).execution_id
                for _ in range(12)
            ]
            await eventually(
                lambda: conn.fetchval("SELECT count(*) FROM executions WHERE status = 'COMPLETED'"),
                lambda done: done >= 1,
            )
            volatile_redis.kill()  # every queued message and the consumer group are gone
            await asyncio.sleep(0.5)  # an outage, not a blip
            volatile_redis.start()
            await _wait_for_socket(volatile_redis.socket)
            await eventually(
                lambda: _statuses(conn, ids), lambda s: s == ["COMPLETED"] * 12, timeout=60
            )
        duplicates = await conn.fetchval(
            "SELECT count(*) FROM (SELECT key FROM test_remote_keyed GROUP BY key "
            "HAVING count(*) > 1) d"
        )
        assert duplicates == 0
        assert await conn.fetchval("SELECT count(*) FROM test_remote_keyed") == 36
    finally:
        await conn.close()


async def test_killed_database_connections_roll_back_and_the_work_is_retried(
    producer_settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, CHAIN.replace("sleep_ms: 100", "sleep_ms: 300"))
        with processes(producer_settings) as group:
            group.start("worker", "--concurrency", "4")
            group.start("scheduler")
            await eventually(
                lambda: conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    "'govflow-worker' AND datname = current_database()"
                ),
                lambda sessions: sessions > 0,
            )
            ids = [
                (await producer.start_execution(StartRequest(workflow="chain"))).execution_id
                for _ in range(10)
            ]
            killed = 0
            for _ in range(20):
                killed += await conn.fetchval(
                    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM "
                    "pg_stat_activity WHERE application_name = 'govflow-worker' "
                    "AND datname = current_database()) k"
                )
                await asyncio.sleep(0.1)
            assert killed > 0
            await eventually(
                lambda: _statuses(conn, ids), lambda s: s == ["COMPLETED"] * 10, timeout=60
            )
        assert await conn.fetchval("SELECT count(*) FROM test_remote_keyed") == 30
    finally:
        await conn.close()


_LATE_REPORT = """
SELECT (SELECT array_agg(reason || ':' || (metadata->>'discarded_outcome') ORDER BY id)
          FROM audit_logs
         WHERE action = 'WORKFLOW_EXECUTION_PROCESS_SKIPPED'
           AND entity_id = $1::uuid::text) AS late,
       (SELECT count(*)
          FROM execution_step_attempts a JOIN execution_steps s ON s.id = a.execution_step_id
         WHERE s.execution_id = $1::uuid AND a.finished_at IS NOT NULL) AS applied
"""
"""A worker's report on a step of the execution: discarded (audited) or applied (recorded)."""


async def test_cancel_racing_a_running_step_leaves_the_execution_canceled(
    producer_settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    slow = CHAIN.replace("sleep_ms: 100}}\n  - {id: two", "sleep_ms: 500}}\n  - {id: two")
    try:
        await install_workflow(conn, slow)
        with processes(producer_settings, LEASE_SECONDS="10") as group:
            group.start("worker", "--concurrency", "2")
            started = await producer.start_execution(StartRequest(workflow="chain"))
            await eventually(
                lambda: step_rows(conn, started.execution_id),
                lambda steps: steps[0]["status"] == "RUNNING",
            )
            await cancel_execution(
                producer.control, started.execution_id, actor=Actor(name="t"), reason="race"
            )
            # The worker finishes its action after the cancel and reports late. Wait for its
            # report whichever way it lands (discarded and audited, or applied by a broken
            # guard) so that a broken guard fails at once, not at the deadline.
            report = await eventually(
                lambda: conn.fetchrow(_LATE_REPORT, started.execution_id),
                lambda row: row["late"] is not None or row["applied"] > 0,
            )
            assert report["applied"] == 0, "the late report was applied to a canceled step"
            assert report["late"] == ["late_result:COMPLETED"]
        steps = await step_rows(conn, started.execution_id)
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
        assert status == "CANCELED"
        assert [s["status"] for s in steps] == ["CANCELED", "CANCELED", "CANCELED"]
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM test_effects WHERE key LIKE $1", f"{started.execution_id}:%"
            )
            == 1
        )
    finally:
        await conn.close()
