"""Promises of the engine that only show when time passes or a worker goes stale.

- A worker whose step was recovered and claimed again reports with an old fencing token: its
  report is discarded (audited ``late_result``) and the execution ends with the new attempt's
  result.
- ``retry.max_attempts`` from the YAML (defaults and per step) bounds the attempts.
- A retry's backoff is kept by the database: the step is not claimable before
  ``next_attempt_at``, which lies the configured delay after the failed attempt.

The engine runs in this process against real PostgreSQL; the test decides which step runs when.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any, ClassVar
from uuid import UUID

import asyncpg
import msgspec
import pytest

from govflow.adapters.db.seed import seed_departments
from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.bootstrap import Container, container
from govflow.core.validation import validate_workflow
from govflow.plugins import Action, ActionContext, ActionRegistry, Idempotency, hookimpl
from govflow.plugins.manager import PluginManager
from govflow.settings import Settings
from govflow.usecases.audit import SYSTEM
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import (
    CollectingQueue,
    eventually,
    install_workflow,
    plugins_for_tests,
    prepare_effects,
    step_rows,
)

SETTLED = ("COMPLETED", "FAILED")


class GateInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class Gates:
    """Per attempt number: an event set when the attempt's action starts, one that lets it end."""

    def __init__(self) -> None:
        self.entered: dict[int, asyncio.Event] = {}
        self.release: dict[int, asyncio.Event] = {}

    def for_attempt(self, attempt: int) -> tuple[asyncio.Event, asyncio.Event]:
        entered = self.entered.setdefault(attempt, asyncio.Event())
        release = self.release.setdefault(attempt, asyncio.Event())
        return entered, release


class GatedAction(Action):
    """Waits until the test opens the gate of its attempt, then returns the attempt number."""

    name: ClassVar[str] = "gated"
    description: ClassVar[str] = "waits for the test (tests only)"
    inputs: ClassVar[type[msgspec.Struct]] = GateInputs
    idempotency: ClassVar[Idempotency] = Idempotency.LOCAL

    def __init__(self, gates: Gates) -> None:
        self.gates = gates

    async def execute(self, ctx: ActionContext, params: GateInputs) -> Mapping[str, Any]:
        entered, release = self.gates.for_attempt(ctx.attempt)
        entered.set()
        await release.wait()
        return {"attempt": ctx.attempt}


class GatedPlugin:
    def __init__(self, gates: Gates) -> None:
        self.gates = gates

    @hookimpl
    def govflow_register_actions(self, register: ActionRegistry) -> None:
        register.add(GatedAction(self.gates))


@pytest.fixture
def gates() -> Gates:
    return Gates()


@pytest.fixture
def plugins(gates: Gates) -> PluginManager:
    manager = plugins_for_tests()
    manager.register(GatedPlugin(gates), name="tests.gated")
    return manager


@pytest.fixture
async def gated_engine(
    settings: Settings,
    database_url: str,
    plugins: PluginManager,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Container]:
    monkeypatch.setenv("GOVFLOW_TEST_EFFECTS_DSN", database_url)
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins) as services:
        services.queue = CollectingQueue()  # type: ignore[assignment]
        yield services


async def _install(conn: asyncpg.Connection, plugins: PluginManager, text: str) -> None:
    await seed_departments(conn)
    spec = validate_workflow(text, "<test>", plugins.actions().inputs())
    await PgWorkflowStore(conn).save(spec, text, None, SYSTEM)


async def _first_step(conn: asyncpg.Connection, execution_id: UUID) -> UUID:
    step_id = await conn.fetchval(
        "SELECT id FROM execution_steps WHERE execution_id = $1 AND position = 0", execution_id
    )
    assert isinstance(step_id, UUID)
    return step_id


async def _step(conn: asyncpg.Connection, step_id: UUID) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT status, attempt, fencing_token, lease_owner, output::text AS output, "
        "next_attempt_at, max_attempts FROM execution_steps WHERE id = $1",
        step_id,
    )
    assert row is not None
    return dict(row)


GATED = """
name: gated
title: One step the test holds
department: general-administration
defaults:
  retry: {max_attempts: 3, initial_delay: 0s, jitter: false}
steps:
  - {id: hold, action: gated}
"""


async def test_a_stale_worker_reporting_after_recovery_and_reclaim_changes_nothing(
    gated_engine: Container, plugins: PluginManager, gates: Gates
) -> None:
    engine = gated_engine
    first, second = engine.step_runner(), engine.step_runner()
    runs: list[asyncio.Task[None]] = []
    try:
        async with engine.db.pool.acquire() as conn:
            await _install(conn, plugins, GATED)
            started = await engine.start_execution(StartRequest(workflow="gated"))
            step_id = await _first_step(conn, started.execution_id)

            runs.append(asyncio.create_task(first.run(step_id)))
            entered_1, release_1 = gates.for_attempt(1)
            await asyncio.wait_for(entered_1.wait(), 10)
            # The first worker stalls past its lease (no renewal reaches the database).
            await conn.execute(
                "UPDATE execution_steps SET lease_expires_at = now() - interval '1 second' "
                "WHERE id = $1",
                step_id,
            )
            report = await engine.sweeper().sweep_once()
            assert report.recovered == 1
            assert (await _step(conn, step_id))["status"] == "PENDING"

            runs.append(asyncio.create_task(second.run(step_id)))
            entered_2, release_2 = gates.for_attempt(2)
            await asyncio.wait_for(entered_2.wait(), 10)
            held = await _step(conn, step_id)
            assert (held["status"], held["attempt"], held["lease_owner"]) == (
                "RUNNING",
                2,
                second.worker_id,
            )

            release_1.set()  # the stale worker's action ends: it reports with fencing token 1
            await asyncio.wait_for(runs[0], 10)
            after_late = await _step(conn, step_id)
            assert after_late == held, "the stale report must change nothing"
            late = await conn.fetch(
                "SELECT reason, metadata FROM audit_logs "
                "WHERE action = 'WORKFLOW_EXECUTION_PROCESS_SKIPPED' AND entity_id = $1",
                str(started.execution_id),
            )
            assert [r["reason"] for r in late] == ["late_result"]
            metadata = msgspec.json.decode(late[0]["metadata"])
            assert (metadata["attempt"], metadata["discarded_outcome"]) == (1, "COMPLETED")

            release_2.set()
            await asyncio.wait_for(runs[1], 10)
            final = await _step(conn, step_id)
            status = await conn.fetchval(
                "SELECT status FROM executions WHERE id = $1", started.execution_id
            )
    finally:
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        await first.close()
        await second.close()
    assert status == "COMPLETED"
    assert (final["status"], final["attempt"]) == ("COMPLETED", 2)
    assert msgspec.json.decode(final["output"]) == {"attempt": 2}


async def _run_until_settled(engine: Container, execution_id: UUID) -> str:
    """Run every due step again and again until the execution settles (bounded)."""
    runner = engine.step_runner()
    try:
        async with engine.db.pool.acquire() as conn:
            for _ in range(40):
                status = str(
                    await conn.fetchval("SELECT status FROM executions WHERE id = $1", execution_id)
                )
                if status in SETTLED:
                    return status
                due = await conn.fetch(
                    "SELECT id FROM execution_steps WHERE execution_id = $1 "
                    "AND status = 'PENDING' AND next_attempt_at <= now() ORDER BY position",
                    execution_id,
                )
                assert due, f"execution {status} with no due step"
                for row in due:
                    await runner.run(row["id"])
    finally:
        await runner.close()
    raise AssertionError("the execution did not settle within 40 rounds")


RETRY_BUDGETS = """
name: retry-budgets
title: Attempt budgets from the YAML
department: general-administration
defaults:
  retry: {max_attempts: 5, initial_delay: 0s, jitter: false}
steps:
  - {id: five, action: effect_local, with: {label: five, fail_times: 4}}
  - id: two
    action: effect_local
    retry: {max_attempts: 2}
    with: {label: two, fail_times: 5}
"""


async def test_max_attempts_from_the_yaml_bound_the_attempts(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, RETRY_BUDGETS)
    started = await engine.start_execution(StartRequest(workflow="retry-budgets"))
    assert await _run_until_settled(engine, started.execution_id) == "FAILED"
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, started.execution_id)
        budgets = await conn.fetch(
            "SELECT step_key, max_attempts FROM execution_steps WHERE execution_id = $1 "
            "ORDER BY position",
            started.execution_id,
        )
        failures = await conn.fetch(
            "SELECT key, count(*) AS n FROM test_failures GROUP BY key ORDER BY key"
        )
    assert [(r["step_key"], r["max_attempts"]) for r in budgets] == [("five", 5), ("two", 2)]
    assert [(s["step_key"], s["status"], s["attempt"]) for s in steps] == [
        ("five", "COMPLETED", 5),  # four failures, the fifth attempt succeeds
        ("two", "FAILED", 2),  # two failures and no third attempt
    ]
    key = str(started.execution_id)
    assert {r["key"]: r["n"] for r in failures} == {f"{key}:five": 4, f"{key}:two": 2}


BACKOFF = """
name: backoff
title: A retry two seconds later
department: general-administration
defaults:
  retry: {max_attempts: 3, backoff: fixed, initial_delay: 2s, jitter: false}
steps:
  - {id: flaky, action: effect_local, with: {label: flaky, fail_times: 1}}
"""


async def test_the_backoff_delay_is_kept_by_the_database(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, BACKOFF)
        started = await engine.start_execution(StartRequest(workflow="backoff"))
        step_id = await _first_step(conn, started.execution_id)
        runner = engine.step_runner()
        try:
            await runner.run(step_id)  # attempt 1 fails technically: a retry in 2 s
            waiting = await _step(conn, step_id)
            failed_at = await conn.fetchval(
                "SELECT finished_at FROM execution_step_attempts "
                "WHERE execution_step_id = $1 AND attempt = 1",
                step_id,
            )
            assert (waiting["status"], waiting["attempt"]) == ("PENDING", 1)
            delay = waiting["next_attempt_at"] - failed_at
            assert timedelta(seconds=2) <= delay < timedelta(seconds=3), delay

            # Before next_attempt_at nobody can claim it, whatever wakes the worker.
            assert (
                await engine.steps.claim(step_id, "early-worker", engine.lease, runner.claims)
                is None
            )
            await runner.run(step_id)
            assert (await _step(conn, step_id))["attempt"] == 1

            async def run_again() -> str:
                await runner.run(step_id)
                return str((await _step(conn, step_id))["status"])

            assert await eventually(run_again, lambda s: s == "COMPLETED", every=0.1) == (
                "COMPLETED"
            )
            second_started = await conn.fetchval(
                "SELECT started_at FROM execution_step_attempts "
                "WHERE execution_step_id = $1 AND attempt = 2",
                step_id,
            )
        finally:
            await runner.close()
    assert second_started >= waiting["next_attempt_at"]
