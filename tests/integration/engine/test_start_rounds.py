"""Starts in rounds (group commit): the starts that arrive together are created by one statement,
each with its own answer; a failed round loses nothing and creates nothing twice."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import asyncpg
import pytest

from govflow.adapters.db.group_commit import RoundBounds
from govflow.adapters.db.start_rounds import RoundStartWriter
from govflow.bootstrap import Container
from govflow.bootstrap.graph import start_writer
from govflow.core.audit_events import AuditEvent
from govflow.usecases.audit import SYSTEM
from govflow.usecases.start_execution import (
    KeyTaken,
    NewExecution,
    StartRequest,
    StartResult,
    plan_steps,
)
from tests.support.engine import eventually, install_workflow
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

ROOMY = RoundBounds(max_wait=0.0002, max_items=64)


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    await install_workflow(conn, THREE_ECHOES)
    yield conn
    await conn.close()


async def new_execution(
    engine: Container,
    key: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    department_id: uuid.UUID | None = None,
) -> NewExecution:
    workflow = await engine.catalog.current("three-echoes", None)
    assert workflow is not None
    spec = await engine.specs.spec(workflow.version_id)
    return NewExecution(
        workflow_id=workflow.workflow_id,
        version_id=workflow.version_id,
        department_id=department_id or workflow.department_id,
        inputs=inputs or {},
        steps=plan_steps(spec),
        idempotency_key=key,
        actor=SYSTEM,
        request_id=request_id,
    )


async def stored(admin: asyncpg.Connection) -> tuple[int, int, int]:
    """Executions, steps and creation audit records in the database."""
    row = await admin.fetchrow(
        "SELECT (SELECT count(*) FROM executions) AS e, (SELECT count(*) FROM execution_steps) "
        "AS s, (SELECT count(*) FROM audit_logs WHERE action = $1) AS a",
        AuditEvent.WORKFLOW_EXECUTION_CREATED.value,
    )
    assert row is not None
    return row["e"], row["s"], row["a"]


async def assert_created_once(admin: asyncpg.Connection, result: object) -> None:
    """``result`` is an execution created with its three steps, its first one runnable."""
    assert isinstance(result, StartResult)
    assert result.created
    steps = await admin.fetch(
        "SELECT id, next_attempt_at IS NOT NULL AS due FROM execution_steps "
        "WHERE execution_id = $1 ORDER BY position",
        result.execution_id,
    )
    assert [s["due"] for s in steps] == [True, False, False]
    assert result.first_step_id == steps[0]["id"]
    assert result.more_step_ids == ()
    audits = await admin.fetchval(
        "SELECT count(*) FROM audit_logs WHERE entity_id = $1 AND action = $2",
        str(result.execution_id),
        AuditEvent.WORKFLOW_EXECUTION_CREATED.value,
    )
    assert audits == 1


@contextlib.asynccontextmanager
async def held_key(
    engine: Container, database_url: str, key: str
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Another transaction, still open, that inserted an execution with ``key``: a start with
    the key waits for it. Yields what rolls it back."""
    workflow = await engine.catalog.current("three-echoes", None)
    assert workflow is not None
    blocker = await asyncpg.connect(database_url)
    try:
        holding = blocker.transaction()
        await holding.start()
        await blocker.execute(
            "INSERT INTO executions (workflow_id, workflow_version_id, idempotency_key) "
            "VALUES ($1, $2, $3)",
            workflow.workflow_id,
            workflow.version_id,
            key,
        )
        yield holding.rollback
    finally:
        await blocker.close()


async def created_with_reply_cut(
    database_url: str, news: list[NewExecution], marker: bytes
) -> tuple[list[object], int]:
    """``news`` created together through a proxy that loses the reply of the statement whose
    parameters hold ``marker`` (after it committed); their answers and the rounds sent."""
    proxy = PgProxy(database_url)
    pool = await asyncpg.create_pool(await proxy.start(), min_size=1, max_size=2, ssl=False)
    try:
        writer = RoundStartWriter(pool, ROOMY)
        proxy.cut_reply(marker)
        results = await asyncio.gather(*(writer.create(new) for new in news))
        assert proxy.cuts == 1
    finally:
        await pool.close()
        await proxy.close()
    return list(results), writer.rounds.rounds


async def round_waiting(admin: asyncpg.Connection) -> int:
    """The session of a round's statement waiting for a lock (polled until there is one)."""
    pid: int = await eventually(
        lambda: admin.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%unnest%' AND pid <> pg_backend_pid()"
        ),
        bool,
        every=0.01,
    )
    return pid


async def test_starts_that_arrive_together_share_one_statement(
    engine: Container, admin: asyncpg.Connection
) -> None:
    writer = RoundStartWriter(engine.db.pool, ROOMY)
    news = [await new_execution(engine, inputs={"n": n}) for n in range(20)]
    answers = await asyncio.gather(*(writer.create(new) for new in news))
    assert (writer.rounds.rounds, writer.rounds.items) == (1, 20)
    results = [r for r in answers if isinstance(r, StartResult)]
    assert len({r.execution_id for r in results}) == 20
    for result in results:
        await assert_created_once(admin, result)
    inputs = await admin.fetch(
        "SELECT id, inputs->>'n' AS n FROM executions WHERE id = ANY($1::uuid[])",
        [r.execution_id for r in results],
    )
    assert {r["id"]: r["n"] for r in inputs} == {
        result.execution_id: str(n) for n, result in enumerate(results)
    }
    assert await stored(admin) == (20, 60, 20)


async def test_a_round_holds_at_most_max_items(
    engine: Container, admin: asyncpg.Connection
) -> None:
    writer = RoundStartWriter(engine.db.pool, RoundBounds(max_wait=0.0002, max_items=4))
    news = [await new_execution(engine) for _ in range(10)]
    await asyncio.gather(*(writer.create(new) for new in news))
    assert (writer.rounds.rounds, writer.rounds.items) == (3, 10)
    assert await stored(admin) == (10, 30, 10)


async def test_a_lone_caller_does_not_wait_for_the_bound(
    engine: Container, admin: asyncpg.Connection
) -> None:
    """A round closes when no other start is ready: with an hour's bound, each of five starts
    made one after another is its own round, sent at once."""
    writer = RoundStartWriter(engine.db.pool, RoundBounds(max_wait=3600.0, max_items=64))
    for _ in range(5):
        result = await asyncio.wait_for(writer.create(await new_execution(engine)), 30)
        await assert_created_once(admin, result)
    assert (writer.rounds.rounds, writer.rounds.items) == (5, 5)


async def test_concurrent_starts_through_the_use_case_need_fewer_statements(
    engine: Container, admin: asyncpg.Connection
) -> None:
    assert isinstance(engine.executions, RoundStartWriter)  # the container's writer, by default
    rounds = engine.executions.rounds
    before = rounds.rounds
    results = await asyncio.gather(
        *(engine.start_execution(StartRequest(workflow="three-echoes")) for _ in range(16))
    )
    assert rounds.items == 16
    assert rounds.rounds - before < 16
    for result in results:
        await assert_created_once(admin, result)
    woken = engine.queue.woken  # type: ignore[attr-defined]
    assert sorted(woken) == sorted(r.first_step_id for r in results if r.first_step_id)


async def test_one_statement_per_start_when_a_round_holds_one(
    engine: Container, admin: asyncpg.Connection
) -> None:
    settings = engine.settings.model_copy(update={"start_round_max_rows": 1})
    writer = start_writer(engine.db.pool, settings)
    news = [await new_execution(engine) for _ in range(5)]
    results = await asyncio.gather(*(writer.create(new) for new in news))
    assert all(isinstance(r, StartResult) and r.created for r in results)
    assert (writer.rounds.rounds, writer.rounds.items) == (5, 5)


async def test_a_taken_key_refuses_its_start_only(
    engine: Container, admin: asyncpg.Connection
) -> None:
    writer = RoundStartWriter(engine.db.pool, ROOMY)
    first = await writer.create(await new_execution(engine, key="k-taken"))
    assert isinstance(first, StartResult)
    news = [await new_execution(engine, key=f"k-{n}") for n in range(4)]
    news.insert(2, await new_execution(engine, key="k-taken"))
    results = await asyncio.gather(*(writer.create(new) for new in news))
    assert (writer.rounds.rounds, writer.rounds.items) == (2, 6)
    taken = results.pop(2)
    assert isinstance(taken, KeyTaken)
    assert taken.execution_id == first.execution_id
    for result in [first, *results]:
        await assert_created_once(admin, result)
    assert await stored(admin) == (5, 15, 5)


@pytest.mark.parametrize("in_flight", [1, 2])
async def test_one_key_twice_in_one_batch_behaves_as_one_after_the_other(
    engine: Container, admin: asyncpg.Connection, database_url: str, in_flight: int
) -> None:
    """The second start with a key is sent after the round of the first has answered, even when
    the bounds would let two rounds be written at once: here the first round waits for another
    transaction, and the second start is not sent meanwhile."""
    bounds = RoundBounds(max_wait=0.0002, max_items=64, max_in_flight=in_flight)
    writer = RoundStartWriter(engine.db.pool, bounds)
    async with held_key(engine, database_url, "held") as release:
        news = [
            await new_execution(engine, key="held"),  # the round inserts it first, and waits
            await new_execution(engine, key="twice"),
            await new_execution(engine, key="twice"),
        ]
        starting = asyncio.gather(*(writer.create(new) for new in news))
        await round_waiting(admin)
        assert writer.rounds.rounds == 1
        await release()
    held, first, second = await asyncio.wait_for(starting, 60)
    assert writer.rounds.rounds == 2
    await assert_created_once(admin, held)
    await assert_created_once(admin, first)
    assert isinstance(second, KeyTaken)
    assert isinstance(first, StartResult)
    assert second.execution_id == first.execution_id
    assert await stored(admin) == (2, 6, 2)


async def test_a_start_that_breaks_the_round_fails_alone(
    engine: Container, admin: asyncpg.Connection
) -> None:
    """A start naming no existing department fails the round's statement (a foreign key): the
    round's starts are created one by one, and only that start fails."""
    writer = RoundStartWriter(engine.db.pool, ROOMY)
    news = [await new_execution(engine, key=f"k-{n}") for n in range(4)]
    news.insert(1, await new_execution(engine, department_id=uuid.uuid4()))
    results = await asyncio.gather(*(writer.create(new) for new in news), return_exceptions=True)
    assert writer.rounds.rounds == 1
    broken = results.pop(1)
    assert isinstance(broken, asyncpg.ForeignKeyViolationError)
    for result in results:
        await assert_created_once(admin, result)
    assert await stored(admin) == (4, 12, 4)


async def test_a_round_whose_session_is_killed_loses_nothing(
    engine: Container, admin: asyncpg.Connection, database_url: str
) -> None:
    """The round's statement waits for another transaction holding one start's key; its session
    is terminated there; every start of the round is then created once, that one as well once
    the other transaction rolls back."""
    writer = RoundStartWriter(engine.db.pool, ROOMY)
    async with held_key(engine, database_url, "held") as release:
        news = [await new_execution(engine, key=f"k-{n}") for n in range(3)]
        news.append(await new_execution(engine))
        news.append(await new_execution(engine, key="held"))
        starting = asyncio.gather(*(writer.create(new) for new in news))
        waiting = await round_waiting(admin)
        assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", waiting)
        await release()
    results = await asyncio.wait_for(starting, 60)
    assert writer.rounds.rounds == 1
    for result in results:
        await assert_created_once(admin, result)
    assert await stored(admin) == (5, 15, 5)


@pytest.mark.parametrize("key", ["cut-key", None], ids=["with_key", "without_key"])
async def test_a_round_whose_answer_is_lost_after_commit_creates_nothing_twice(
    engine: Container, admin: asyncpg.Connection, database_url: str, key: str | None
) -> None:
    """The round commits and its reply is lost with the connection: each start is found by its
    id (or its key) and answered as created, with its steps; none is created again."""
    news = [await new_execution(engine, request_id="cut-this-round", key=key)]
    news += [await new_execution(engine) for _ in range(3)]
    results, rounds = await created_with_reply_cut(database_url, news, b"cut-this-round")
    assert rounds == 1
    for result in results:
        await assert_created_once(admin, result)
    assert await stored(admin) == (4, 12, 4)
