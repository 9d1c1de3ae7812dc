"""Step statements meet lost database connections and still apply exactly once.

Two ways a connection is lost: the server terminates the session between the pool handing the
connection out and the statement running on it (the statement never ran); or the statement runs
and commits and the reply is lost with the connection (a loopback proxy swallows it). In both
the worker goes on with the step it owns, and nothing is recorded twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import pytest

from govflow.adapters.db.resilience import RetryPolicy
from govflow.adapters.db.steps import PgStepStore
from govflow.bootstrap import Container
from govflow.core.audit_events import AuditEvent
from govflow.usecases.run_step import StepRunner
from govflow.usecases.start_execution import StartRequest, StartResult
from govflow.usecases.sweep import Sweeper
from govflow.usecases.translate import claim_order
from tests.support.engine import install_workflow, step_rows
from tests.support.pg_proxy import PgProxy

THREE_ECHOES = """
name: three-echoes
title: Three echoes
department: general-administration
steps:
  - {id: a, action: echo, with: {value: 1}}
  - {id: b, action: echo, with: {value: 2}}
  - {id: c, action: echo, with: {value: 3}}
"""

T = TypeVar("T")
LEASE = timedelta(seconds=30)
QUICK = RetryPolicy(attempts=4, first_wait=0.001, max_wait=0.01, max_elapsed=5.0)
CLAIMS = claim_order(datetime.now(UTC))


class Terminator:
    """A pool ``setup`` hook: the server ends the session of every other connection handed out.

    The session is ended from another thread while this event loop waits, so the pool hands out
    a connection it believes healthy and the statement meets the dead session: as when the pool
    hands out a connection the server had just terminated.
    """

    def __init__(self, database_url: str) -> None:
        self.enabled = False
        self.handed_out = 0
        self.killed = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._admin: asyncpg.Connection = self._call(asyncpg.connect(database_url))

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    async def setup(self, conn: Any) -> None:
        if not self.enabled:
            return
        self.handed_out += 1
        if self.handed_out % 2 == 1:
            # Blocks this loop on purpose; with a timeout, the server waits for the session's end.
            ended = self._admin.fetchval(
                "SELECT pg_terminate_backend($1, 5000)", conn.get_server_pid()
            )
            assert self._call(ended)
            self.killed += 1

    def close(self) -> None:
        self._call(self._admin.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@pytest.fixture
def terminator(database_url: str) -> Iterator[Terminator]:
    terminator = Terminator(database_url)
    yield terminator
    terminator.close()


@pytest.fixture
async def killing_pool(database_url: str, terminator: Terminator) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2, setup=terminator.setup)
    yield pool
    await pool.close()


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[tuple[PgProxy, asyncpg.Pool]]:
    proxy = PgProxy(database_url)
    url = await proxy.start()
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2, ssl=False)
    yield proxy, pool
    await pool.close()
    await proxy.close()


def runner_over(engine: Container, store: PgStepStore, worker: str) -> StepRunner:
    return dataclasses.replace(engine.step_runner(), store=store, worker_id=worker, lease=LEASE)


async def start(engine: Container, admin: asyncpg.Connection) -> StartResult:
    await install_workflow(admin, THREE_ECHOES)
    return await engine.start_execution(StartRequest(workflow="three-echoes"))


async def audit_counts(admin: asyncpg.Connection, execution_id: object) -> dict[str, int]:
    rows = await admin.fetch(
        "SELECT action, count(*) AS n FROM audit_logs WHERE metadata->>'execution_id' = $1 "
        "OR entity_id = $1 GROUP BY action",
        str(execution_id),
    )
    return {r["action"]: r["n"] for r in rows}


async def attempt_rows(admin: asyncpg.Connection, execution_id: object) -> list[tuple[Any, ...]]:
    rows = await admin.fetch(
        "SELECT s.step_key, a.attempt, a.outcome, a.finished_at IS NOT NULL AS finished "
        "FROM execution_step_attempts a JOIN execution_steps s ON s.id = a.execution_step_id "
        "WHERE s.execution_id = $1 ORDER BY s.position, a.id",
        execution_id,
    )
    return [tuple(r) for r in rows]


async def assert_ran_once(admin: asyncpg.Connection, started: StartResult) -> None:
    status = await admin.fetchval(
        "SELECT status FROM executions WHERE id = $1", started.execution_id
    )
    assert status == "COMPLETED"
    steps = await step_rows(admin, started.execution_id)
    assert [(s["status"], s["attempt"]) for s in steps] == [("COMPLETED", 1)] * 3
    assert await attempt_rows(admin, started.execution_id) == [
        ("a", 1, "COMPLETED", True),
        ("b", 1, "COMPLETED", True),
        ("c", 1, "COMPLETED", True),
    ]
    counts = await audit_counts(admin, started.execution_id)
    assert counts[AuditEvent.WORKFLOW_EXECUTION_STEP_STARTED.value] == 3
    assert counts[AuditEvent.WORKFLOW_EXECUTION_STEP_COMPLETED.value] == 3
    assert counts[AuditEvent.WORKFLOW_EXECUTION_PROCESS_COMPLETED.value] == 1
    assert AuditEvent.WORKFLOW_EXECUTION_PROCESS_SKIPPED.value not in counts  # no late result


async def test_sessions_killed_between_acquire_and_statement_are_retried_on_fresh_ones(
    engine: Container,
    admin: asyncpg.Connection,
    terminator: Terminator,
    killing_pool: asyncpg.Pool,
) -> None:
    started = await start(engine, admin)
    store = PgStepStore(killing_pool, QUICK)
    terminator.enabled = True
    # Every statement's first connection is dead: the claim and the three finishes each retry.
    await runner_over(engine, store, "worker-kill").run(started.first_step_id)  # type: ignore[arg-type]
    assert terminator.killed == 4
    await assert_ran_once(admin, started)


async def test_a_finish_whose_reply_is_lost_after_commit_goes_on_with_the_next_step(
    engine: Container, admin: asyncpg.Connection, proxy: tuple[PgProxy, asyncpg.Pool]
) -> None:
    cutter, pool = proxy
    started = await start(engine, admin)
    worker = "worker-cut-finish"
    # The claim binds the worker id first, then the finish of step a (it claims step b).
    cutter.cut_reply(worker.encode(), nth=2)
    await runner_over(engine, PgStepStore(pool, QUICK), worker).run(started.first_step_id)  # type: ignore[arg-type]
    assert cutter.cuts == 1
    await assert_ran_once(admin, started)


async def test_a_claim_whose_reply_is_lost_after_commit_is_still_this_workers(
    engine: Container, admin: asyncpg.Connection, proxy: tuple[PgProxy, asyncpg.Pool]
) -> None:
    cutter, pool = proxy
    started = await start(engine, admin)
    assert started.first_step_id is not None
    store = PgStepStore(pool, QUICK)
    cutter.cut_reply(b"worker-cut-claim")
    claimed = await store.claim(started.first_step_id, "worker-cut-claim", LEASE, CLAIMS)
    assert cutter.cuts == 1
    assert claimed is not None
    claim, context = claimed
    assert (claim.step_id, claim.step_key, claim.attempt) == (started.first_step_id, "a", 1)
    assert context.workflow_name == "three-echoes"
    # The step is held now: claiming it again, or a reply lost again, gives nothing.
    assert await store.claim(started.first_step_id, "worker-cut-claim", LEASE, CLAIMS) is None
    cutter.cut_reply(b"worker-cut-claim")
    assert await store.claim(started.first_step_id, "worker-cut-claim", LEASE, CLAIMS) is None
    assert cutter.cuts == 2
    assert [r[:2] for r in await attempt_rows(admin, started.execution_id)] == [("a", 1)]


async def test_the_sweeper_recovers_an_expired_lease_through_killed_sessions(
    engine: Container,
    admin: asyncpg.Connection,
    terminator: Terminator,
    killing_pool: asyncpg.Pool,
) -> None:
    started = await start(engine, admin)
    assert started.first_step_id is not None
    claimed = await engine.steps.claim(started.first_step_id, "a-worker-that-dies", LEASE, CLAIMS)
    assert claimed is not None
    await admin.execute(  # the worker died; its lease ran out
        "UPDATE execution_steps SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
        started.first_step_id,
    )
    sweeper: Sweeper = dataclasses.replace(engine.sweeper(), store=PgStepStore(killing_pool, QUICK))
    terminator.enabled = True
    report = await sweeper.sweep_once()
    terminator.enabled = False
    assert terminator.killed == 3  # taking the lease, recording the recovery, finding the due
    assert report.recovered == 1
    steps = await step_rows(admin, started.execution_id)
    assert (steps[0]["status"], steps[0]["attempt"]) == ("PENDING", 1)
    counts = await audit_counts(admin, started.execution_id)
    assert counts[AuditEvent.WORKFLOW_EXECUTION_STEP_RECOVERED.value] == 1
