"""The Jira metrics of docs/operations.md, read on a real worker's ``WORKER_METRICS_PORT`` while it
runs Jira steps against the Jira emulator: requests by outcome move by exactly what the emulator
answered (a 429, two 503s, successes) and what the guard refused (the open breaker, the rate
cap), the breaker opens once, and ``govflow_breaker_state{breaker="jira"}`` goes closed → open →
half-open → closed as the worker sees it.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import httpx
import pytest

from govflow.bootstrap import Container, container
from govflow.core.audit_events import AuditEvent
from govflow.core.breakers import BreakerState
from govflow.devtools.jira_emulator import JiraEmulator
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.integration.observability.test_metrics_processes import Scrape, scrape
from tests.support.engine import eventually, install_workflow, plugins_for_tests, processes
from tests.support.peers import closed_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ONE_COMMENT = """
name: jira-metered
title: One comment through a storm
department: general-administration
steps:
  - id: comment
    action: jira_comment
    retry: {max_attempts: 8, initial_delay: 0s, jitter: false}
    with: {issue: PERMIT-11, body: Counted}
"""
THREE_COMMENTS = """
name: jira-capped
title: Three comments, one over the rate cap
department: general-administration
defaults:
  retry: {max_attempts: 8, initial_delay: 0s, jitter: false}
steps:
  - {id: one, action: jira_comment, with: {issue: PERMIT-12, body: One}}
  - {id: two, action: jira_comment, with: {issue: PERMIT-12, body: Two}}
  - {id: three, action: jira_comment, with: {issue: PERMIT-12, body: Three}}
"""
COMMENTS = r"/comment$"
OUTCOMES = ("ok", "refused", "rate_limited", "error", "capped", "circuit_open")


@pytest.fixture
async def emulator() -> AsyncIterator[JiraEmulator]:
    async with JiraEmulator() as running:
        yield running


@pytest.fixture
async def producer(settings: Settings) -> AsyncIterator[Container]:
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


def jira_env(url: str, prefix: str, metrics_port: int, **more: str) -> dict[str, str]:
    return {
        "GOVFLOW_PLUGINS_MODULES": "",
        "JIRA_ENABLED": "true",
        "JIRA_BASE_URL": url,
        "JIRA_EMAIL": "govflow@example.com",
        "JIRA_API_TOKEN": "emulator-token",
        "GOVFLOW_JIRA_REDIS_PREFIX": f"{prefix}:jira",
        "WORKER_METRICS_PORT": str(metrics_port),
        **more,
    }


def requests_by_outcome(metrics: Scrape) -> dict[str, float]:
    return {o: metrics("govflow_jira_requests_total", outcome=o) for o in OUTCOMES}


def breaker_state(metrics: Scrape) -> BreakerState | None:
    """The state whose series is 1 (``None`` before the worker reported any); exactly one is."""
    values = {
        state: metrics("govflow_breaker_state", breaker="jira", state=state.value)
        for state in BreakerState
    }
    if not any(values.values()):
        return None
    assert sorted(values.values()) == [0, 0, 1], values
    return next(state for state, value in values.items() if value == 1)


async def run_to_the_end(
    producer: Container, database_url: str, workflow: str, name: str
) -> tuple[str, str]:
    """Start ``name`` and wait for it to end: its execution id and final status."""
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, workflow)
        started = await producer.start_execution(StartRequest(workflow=name, inputs={}))

        async def status() -> str:
            found: str = await conn.fetchval(
                "SELECT status FROM executions WHERE id = $1", started.execution_id
            )
            return found

        final = await eventually(status, lambda s: s in ("COMPLETED", "FAILED"), timeout=90)
    finally:
        await conn.close()
    return str(started.execution_id), final


async def test_requests_429_5xx_and_the_breaker_are_counted_as_they_happen(
    settings: Settings,
    producer: Container,
    database_url: str,
    redis_namespace: str,
    emulator: JiraEmulator,
) -> None:
    # Attempt 1: its POST gets a 429 (Retry-After 1 s). Attempts 2 and 3: their lookup GETs get
    # 503s, the second opens the breaker. Attempt 4: refused by the open breaker, nothing sent;
    # it retries once the cooldown is over. Attempt 5: half-open, its lookup GET held 1.5 s
    # (the worker shows half_open meanwhile), then answered, which closes the breaker; the POST.
    emulator.rate_limit(count=1, retry_after=1, method="POST", path=COMMENTS)
    emulator.fail(count=2, status=503, path=COMMENTS)
    emulator.slow(1.5, count=1, path=COMMENTS)
    port = closed_port()
    url = f"http://127.0.0.1:{port}/metrics"
    env = jira_env(
        emulator.url,
        redis_namespace,
        port,
        GOVFLOW_JIRA_BREAKER_FAILURES="2",
        GOVFLOW_JIRA_BREAKER_COOLDOWN_SECONDS="2",
    )
    seen: list[BreakerState] = []

    async def watch() -> None:
        while True:
            try:
                state = breaker_state(await scrape(url))
            except httpx.TransportError:  # the worker is not listening yet
                state = None
            if state is not None and (not seen or seen[-1] is not state):
                seen.append(state)
            await asyncio.sleep(0.05)

    with processes(settings, **env) as group:
        group.start("worker")
        await eventually(_listening(url), bool)
        before = await scrape(url)
        watcher = asyncio.create_task(watch())
        try:
            execution_id, status = await run_to_the_end(
                producer, database_url, ONE_COMMENT, "jira-metered"
            )
            after = await eventually(
                lambda: scrape(url), lambda m: breaker_state(m) is BreakerState.CLOSED
            )

            async def watched() -> list[BreakerState]:
                return list(seen)

            # the watcher, polling on its own, has seen the breaker closed again as well
            await eventually(watched, lambda s: len(s) > 1 and s[-1] is BreakerState.CLOSED)
        finally:
            watcher.cancel()

    assert status == "COMPLETED"
    assert requests_by_outcome(before) == dict.fromkeys(OUTCOMES, 0)
    assert breaker_state(before) is None
    # What the emulator answered, and what the worker counted.
    answered = collections.Counter(r.status for r in emulator.requests())
    assert answered == {429: 1, 503: 2, 200: 1, 201: 1}
    conn = await asyncpg.connect(database_url)
    try:
        refused_attempts = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE action = $1 "
            "AND metadata->>'execution_id' = $2 AND reason LIKE '%circuit breaker is open%'",
            AuditEvent.JIRA_COMMENT_FAILED,
            execution_id,
        )
    finally:
        await conn.close()
    assert refused_attempts == 1
    assert requests_by_outcome(after) == {
        "ok": 2,
        "refused": 0,
        "rate_limited": 1,
        "error": 2,
        "capped": 0,
        "circuit_open": 1,
    }
    assert after("govflow_jira_circuit_opened_total") == 1
    assert after("govflow_jira_circuit_open") == 0
    # The generic gauge, as the worker reported it from the first request to the last.
    assert seen == [
        BreakerState.CLOSED,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]
    assert len(emulator.comments("PERMIT-11")) == 1


async def test_a_request_over_the_rate_cap_is_counted_capped_and_not_sent(
    settings: Settings,
    producer: Container,
    database_url: str,
    redis_namespace: str,
    emulator: JiraEmulator,
) -> None:
    # Two requests per 4 s window: the first two comments go out, the third is capped and
    # retried once the window is over (a lookup GET, then its POST).
    port = closed_port()
    url = f"http://127.0.0.1:{port}/metrics"
    env = jira_env(
        emulator.url,
        redis_namespace,
        port,
        JIRA_RATE_LIMIT_MAX="2",
        JIRA_RATE_LIMIT_WINDOW_MS="4000",
    )
    with processes(settings, **env) as group:
        group.start("worker")
        await eventually(_listening(url), bool)
        _, status = await run_to_the_end(producer, database_url, THREE_COMMENTS, "jira-capped")
        after = await scrape(url)

    assert status == "COMPLETED"
    answered = collections.Counter(r.status for r in emulator.requests())
    assert answered == {201: 3, 200: 1}
    assert requests_by_outcome(after) == {
        "ok": 4,
        "refused": 0,
        "rate_limited": 0,
        "error": 0,
        "capped": 1,
        "circuit_open": 0,
    }
    assert after("govflow_jira_circuit_opened_total") == 0
    assert breaker_state(after) is BreakerState.CLOSED
    assert [c.text for c in emulator.comments("PERMIT-12")] == ["One", "Two", "Three"]


def _listening(url: str) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        try:
            await scrape(url)
        except httpx.TransportError:
            return False
        return True

    return probe
