"""Jira answering 429 storms and 5xx runs to a real worker: retries are bounded and honour
``Retry-After``, the circuit breaker opens (attempts fail without a request) and closes, and the
step ends COMPLETED with one comment."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as aioredis
from govflow_jira.guard import CircuitState, RedisGuard

from govflow.bootstrap import Container, container
from govflow.core.audit_events import AuditEvent
from govflow.devtools.jira_emulator import JiraEmulator
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import eventually, install_workflow, plugins_for_tests, processes

pytestmark = pytest.mark.e2e

WORKFLOW = """
name: jira-storm
title: Jira storm
department: general-administration
inputs:
  issue: {type: string}
steps:
  - id: comment
    action: jira_comment
    retry: {max_attempts: 8, initial_delay: 0s, jitter: false}
    with: {issue: "{{ inputs.issue }}", body: Weathered the storm}
"""
COMMENT_PATH = r"/comment$"


@pytest.fixture
async def emulator() -> AsyncIterator[JiraEmulator]:
    async with JiraEmulator() as running:
        yield running


@pytest.fixture
async def producer(settings: Settings) -> AsyncIterator[Container]:
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


def env(url: str, prefix: str) -> dict[str, str]:
    return {
        "GOVFLOW_PLUGINS_MODULES": "",
        "JIRA_ENABLED": "true",
        "JIRA_BASE_URL": url,
        "JIRA_EMAIL": "govflow@example.com",
        "JIRA_API_TOKEN": "emulator-token",
        "GOVFLOW_JIRA_REDIS_PREFIX": f"{prefix}:jira",
        "GOVFLOW_JIRA_BREAKER_FAILURES": "2",
        "GOVFLOW_JIRA_BREAKER_COOLDOWN_SECONDS": "1",
    }


async def run_storm(
    settings: Settings, producer: Container, database_url: str, emulator: JiraEmulator, prefix: str
) -> tuple[str, int, int, int]:
    """Run the workflow on PERMIT-11 to its end: its status, attempts, FAILED events and those
    of attempts the open breaker refused."""
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, WORKFLOW)
        with processes(settings, **env(emulator.url, prefix)) as group:
            group.start("worker")
            group.start("scheduler")
            started = await producer.start_execution(
                StartRequest(workflow="jira-storm", inputs={"issue": "PERMIT-11"})
            )

            async def status() -> str:
                found: str = await conn.fetchval(
                    "SELECT status FROM executions WHERE id = $1", started.execution_id
                )
                return found

            final = await eventually(status, lambda s: s in ("COMPLETED", "FAILED"), timeout=90)
        attempts = await conn.fetchval(
            "SELECT attempt FROM execution_steps WHERE execution_id = $1", started.execution_id
        )
        failed = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE action = $1 AND metadata->>'execution_id' = $2",
            AuditEvent.JIRA_COMMENT_FAILED,
            str(started.execution_id),
        )
        refused = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE action = $1 AND reason LIKE $2",
            AuditEvent.JIRA_COMMENT_FAILED,
            "%circuit breaker is open%",
        )
    finally:
        await conn.close()
    return final, int(attempts), int(failed), int(refused)


def comment_posts(emulator: JiraEmulator) -> list[float]:
    return [
        r.at.timestamp()
        for r in emulator.requests()
        if r.method == "POST" and r.path.endswith("/comment")
    ]


async def test_a_429_storm_is_waited_out_honouring_retry_after(
    settings: Settings,
    producer: Container,
    database_url: str,
    redis_namespace: str,
    emulator: JiraEmulator,
) -> None:
    emulator.rate_limit(count=3, retry_after=1, method="POST", path=COMMENT_PATH)

    status, attempts, failed, refused = await run_storm(
        settings, producer, database_url, emulator, redis_namespace
    )

    posts = comment_posts(emulator)
    assert status == "COMPLETED"
    assert attempts == 4
    assert failed == 3
    assert refused == 0
    assert len(posts) == 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(posts)]
    assert all(gap >= 0.95 for gap in gaps), gaps
    assert len(emulator.comments("PERMIT-11")) == 1


async def test_5xx_opens_the_breaker_which_closes_once_jira_is_back(
    settings: Settings,
    producer: Container,
    database_url: str,
    redis_namespace: str,
    redis_url: str,
    emulator: JiraEmulator,
) -> None:
    # Every request about the issue's comments (the lookups' GETs too) fails three times.
    emulator.fail(count=3, status=503, path=COMMENT_PATH)

    status, attempts, failed, refused = await run_storm(
        settings, producer, database_url, emulator, redis_namespace
    )

    reached = [r for r in emulator.requests() if r.path.endswith("/comment")]
    assert status == "COMPLETED"
    assert [r.status for r in reached].count(503) == 3
    assert len(comment_posts(emulator)) == 2  # a 503, then the comment
    assert refused >= 1, "the open breaker refused attempts without a request"
    assert failed == attempts - 1
    assert len(emulator.comments("PERMIT-11")) == 1
    guard = RedisGuard(
        aioredis.Redis.from_url(redis_url),
        rate_max=0,
        rate_window_ms=1000,
        breaker_failures=2,
        breaker_window_seconds=60,
        breaker_cooldown_seconds=1,
        prefix=f"{redis_namespace}:jira",
    )
    try:
        assert await guard.state() is CircuitState.CLOSED
    finally:
        await guard.aclose()
