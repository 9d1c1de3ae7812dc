"""Group commit on real PostgreSQL: step finishes sent as rounds keep each step's own guards,
write every record a finish alone writes, and lose nothing when a round's connection dies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec
from prometheus_client import REGISTRY

from govflow.adapters.db.steps import ROUND, PgStepStore
from govflow.bootstrap import Container
from govflow.core.audit_events import AuditEvent
from govflow.core.statuses import AttemptOutcome, ExecutionStatus, StepStatus
from govflow.usecases.audit import AuditEntry
from govflow.usecases.ports import ClaimedStep, StepFinish
from govflow.usecases.start_execution import StartRequest
from govflow.usecases.translate import claim_order
from tests.support.engine import eventually, install_workflow

FIVE_ECHOES = """
name: rounds
title: Five echoes in rounds
department: general-administration
inputs:
  n: {type: integer}
steps:
  - {id: a, action: echo, with: {value: "{{ inputs.n }}"}}
  - {id: b, action: echo, with: {value: "{{ steps.a.output.value }}"}}
  - {id: c, action: echo, with: {value: "{{ steps.b.output.value }}"}}
  - {id: d, action: echo, with: {value: "{{ steps.c.output.value }}"}}
  - {id: e, action: echo, with: {value: "{{ steps.d.output.value }}"}}
"""
WORKER = "worker-rounds"
LEASE = timedelta(seconds=30)


def _round_items(kind: str) -> tuple[float, float]:
    """``govflow_round_items{kind}``: rounds sent and items they carried, in this process."""
    count = REGISTRY.get_sample_value("govflow_round_items_count", {"kind": kind}) or 0.0
    total = REGISTRY.get_sample_value("govflow_round_items_sum", {"kind": kind}) or 0.0
    return count, total


def store_of(engine: Container) -> PgStepStore:
    store = engine.steps
    assert isinstance(store, PgStepStore)
    assert store.rounds is not None  # group commit is on by default
    return store


async def started(engine: Container, count: int) -> list[tuple[UUID, UUID]]:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, FIVE_ECHOES)
    runs = []
    for n in range(count):
        result = await engine.start_execution(StartRequest(workflow="rounds", inputs={"n": n}))
        assert result.first_step_id is not None
        runs.append((result.execution_id, result.first_step_id))
    return runs


async def test_concurrent_executions_finish_in_rounds_with_every_record(
    engine: Container,
) -> None:
    store = store_of(engine)
    runs = await started(engine, 20)
    runner = engine.step_runner()
    before = (store.rounds.rounds, store.rounds.items)  # type: ignore[union-attr]
    measured = {kind: _round_items(kind) for kind in ("finishes", "claims")}
    await asyncio.gather(*(runner.run(first) for _, first in runs))
    rounds = store.rounds.rounds - before[0]  # type: ignore[union-attr]
    items = store.rounds.items - before[1]  # type: ignore[union-attr]
    assert items == 20 + 20 * 5  # each execution's first claim and its five finishes
    assert rounds < items / 2  # the claims and finishes of concurrent executions shared rounds
    sent = {
        kind: (count - measured[kind][0], total - measured[kind][1])
        for kind, (count, total) in ((k, _round_items(k)) for k in measured)
    }
    assert (sent["claims"][1], sent["finishes"][1]) == (20, 100)  # the metric, by kind
    assert max(sent["claims"][0], sent["finishes"][0]) <= rounds
    async with engine.db.pool.acquire() as conn:
        for execution_id, _ in runs:
            n = await conn.fetchval(
                "SELECT (inputs->>'n')::int FROM executions WHERE id = $1", execution_id
            )
            row = await conn.fetchrow(
                "SELECT status, finished_at IS NOT NULL AS finished FROM executions WHERE id = $1",
                execution_id,
            )
            assert dict(row) == {"status": "COMPLETED", "finished": True}
            steps = await conn.fetch(
                "SELECT s.status, s.output::text, s.attempt, "
                "       (SELECT count(*) FROM execution_step_attempts a "
                "         WHERE a.execution_step_id = s.id AND a.finished_at IS NOT NULL "
                "           AND a.outcome = 'COMPLETED') AS attempts "
                "FROM execution_steps s WHERE s.execution_id = $1 ORDER BY s.position",
                execution_id,
            )
            assert [tuple(s) for s in steps] == [("COMPLETED", f'{{"value": {n}}}', 1, 1)] * 5
            events = await conn.fetch(
                "SELECT action, count(*) FROM audit_logs WHERE metadata->>'execution_id' = $1 "
                "OR entity_id = $1 GROUP BY action",
                str(execution_id),
            )
            assert {e["action"]: e["count"] for e in events} == {
                AuditEvent.WORKFLOW_EXECUTION_CREATED: 1,
                AuditEvent.WORKFLOW_EXECUTION_PROCESS_STARTED: 1,
                AuditEvent.WORKFLOW_EXECUTION_STEP_STARTED: 5,
                AuditEvent.WORKFLOW_EXECUTION_STEP_COMPLETED: 5,
                AuditEvent.WORKFLOW_EXECUTION_PROCESS_COMPLETED: 1,
            }


async def claimed(engine: Container, count: int) -> list[ClaimedStep]:
    claims = []
    for _, first in await started(engine, count):
        got = await engine.steps.claim(first, WORKER, LEASE, claim_order(datetime.now(UTC)))
        assert got is not None
        claims.append(got[0])
    return claims


def completed(claim: ClaimedStep) -> StepFinish:
    """A first step's plain finish: completed, the execution still RUNNING, one audit row."""
    return StepFinish(
        step_status=StepStatus.COMPLETED,
        execution_from=ExecutionStatus.RUNNING,
        outcome=AttemptOutcome.COMPLETED,
        output={"value": claim.step_key},
        audit=[
            AuditEntry(
                action=AuditEvent.WORKFLOW_EXECUTION_STEP_COMPLETED,
                entity_type="execution_step",
                entity_id=str(claim.step_id),
                metadata={"execution_id": str(claim.execution_id), "marker": "round-test"},
            )
        ],
    )


def completed_claiming_next(claim: ClaimedStep) -> StepFinish:
    """``completed(claim)``, claiming the next step in the same statement, as the engine does
    for a step followed by another."""
    rule = next(
        r
        for r in claim_order(datetime.now(UTC)).rules
        if r.execution_status is ExecutionStatus.RUNNING and not r.handlers
    )
    return msgspec.structs.replace(completed(claim), claim_next=rule)


async def marked(conn: asyncpg.Connection, claim: ClaimedStep) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE entity_id = $1 "
            "AND metadata->>'marker' = 'round-test'",
            str(claim.step_id),
        )
    )


async def test_a_stale_token_in_a_round_leaves_only_its_own_step_alone(
    engine: Container,
) -> None:
    store = store_of(engine)
    good, stale = await claimed(engine, 2)
    from msgspec.structs import replace

    overtaken = replace(stale, fencing_token=stale.fencing_token + 1)
    rounds = store.rounds.rounds  # type: ignore[union-attr]
    results = await asyncio.gather(
        store.finish(good, completed(good), WORKER, LEASE),
        store.finish(overtaken, completed(overtaken), WORKER, LEASE),
    )
    assert store.rounds.rounds == rounds + 1  # type: ignore[union-attr]  # one statement
    assert [r.applied for r in results] == [True, False]
    assert results[0].execution_status is ExecutionStatus.RUNNING
    async with engine.db.pool.acquire() as conn:
        statuses = {
            r["id"]: r["status"]
            for r in await conn.fetch(
                "SELECT id, status FROM execution_steps WHERE id = ANY($1::uuid[])",
                [good.step_id, stale.step_id],
            )
        }
        assert statuses == {good.step_id: "COMPLETED", stale.step_id: "RUNNING"}
        assert (await marked(conn, good), await marked(conn, stale)) == (1, 0)


async def test_a_round_whose_connection_dies_loses_nothing_and_repeats_nothing(
    engine: Container, database_url: str
) -> None:
    """The round waits on a lock, its session is terminated; each finish and claim then goes
    alone, and each step is finished or claimed once, with one set of records."""
    store = store_of(engine)
    first, second = await claimed(engine, 2)
    (fresh,) = [step for _, step in await started(engine, 1)]
    blocker = await asyncpg.connect(database_url)
    watcher = await asyncpg.connect(database_url)  # outside the lock's transaction
    try:
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute(
            "SELECT 1 FROM executions WHERE id = $1 FOR UPDATE", second.execution_id
        )
        finishing = asyncio.gather(
            store.finish(first, completed(first), WORKER, LEASE),
            store.finish(second, completed(second), WORKER, LEASE),
            store.claim(fresh, WORKER, LEASE, claim_order(datetime.now(UTC))),
        )

        async def waiting_round() -> int | None:
            pid: int | None = await watcher.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND left(query, 200) = left($1, 200)",
                ROUND.sql,
            )
            return pid

        pid = await eventually(waiting_round, lambda p: p is not None)
        assert await blocker.fetchval("SELECT pg_terminate_backend($1)", pid)
        await lock.rollback()
        done_first, done_second, taken = await asyncio.wait_for(finishing, timeout=30)
    finally:
        await blocker.close()
        await watcher.close()
    assert [done_first.applied, done_second.applied] == [True, True]
    assert taken is not None
    assert (taken[0].step_id, taken[0].fencing_token) == (fresh, 1)
    async with engine.db.pool.acquire() as conn:
        for claim in (first, second):
            row = await conn.fetchrow(
                "SELECT s.status, (SELECT count(*) FROM execution_step_attempts a "
                "WHERE a.execution_step_id = s.id AND a.finished_at IS NOT NULL) AS closed "
                "FROM execution_steps s WHERE s.id = $1",
                claim.step_id,
            )
            assert tuple(row) == ("COMPLETED", 1)
            assert await marked(conn, claim) == 1
        claimed_row = await conn.fetchrow(
            "SELECT s.status, s.fencing_token, (SELECT count(*) FROM execution_step_attempts a "
            "WHERE a.execution_step_id = s.id) AS attempts FROM execution_steps s WHERE s.id = $1",
            fresh,
        )
        assert tuple(claimed_row) == ("RUNNING", 1, 1)


async def test_claims_and_finishes_ready_together_go_in_one_statement(engine: Container) -> None:
    """Two finishes (each claiming its next step) and two claims of other executions' first
    steps, ready in one pass of the loop: one statement carries out all four, each as alone."""
    store = store_of(engine)
    first, second = await claimed(engine, 2)
    fresh = [step for _, step in await started(engine, 2)]
    order = claim_order(datetime.now(UTC))
    assert store.rounds is not None
    rounds, items = store.rounds.rounds, store.rounds.items
    results = await asyncio.gather(
        store.finish(first, completed_claiming_next(first), WORKER, LEASE),
        store.claim(fresh[0], WORKER, LEASE, order),
        store.finish(second, completed_claiming_next(second), WORKER, LEASE),
        store.claim(fresh[1], WORKER, LEASE, order),
    )
    assert (store.rounds.rounds - rounds, store.rounds.items - items) == (1, 4)
    done_first, taken_first, done_second, taken_second = results
    for claim, done in ((first, done_first), (second, done_second)):
        assert done.applied
        assert done.execution_status is ExecutionStatus.RUNNING
        assert done.next_claim is not None
        assert done.next_claim.position == claim.position + 1
    for step_id, taken in ((fresh[0], taken_first), (fresh[1], taken_second)):
        assert taken is not None
        assert taken[0].step_id == step_id
        assert taken[0].attempt == 1
        assert taken[1].steps == {}
    async with engine.db.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT s.id, s.status, s.lease_owner, "
            "       (SELECT count(*) FROM execution_step_attempts a "
            "         WHERE a.execution_step_id = s.id) AS attempts "
            "FROM execution_steps s WHERE s.id = ANY($1::uuid[])",
            [first.step_id, second.step_id, *fresh],
        )
        by_id = {r["id"]: (r["status"], r["lease_owner"], r["attempts"]) for r in rows}
        assert by_id == {
            first.step_id: ("COMPLETED", None, 1),
            second.step_id: ("COMPLETED", None, 1),
            fresh[0]: ("RUNNING", WORKER, 1),
            fresh[1]: ("RUNNING", WORKER, 1),
        }
        assert (await marked(conn, first), await marked(conn, second)) == (1, 1)


async def test_a_finish_and_a_claim_of_one_execution_never_share_a_statement(
    engine: Container,
) -> None:
    """The next step of a finishing step is also due and claimed in the same pass (a stray
    wake-up): the claim is carried out in the round, the finish in the next one, so no row is
    changed twice by one statement. The step is claimed once, by the claim."""
    store = store_of(engine)
    (first,) = await claimed(engine, 1)
    async with engine.db.pool.acquire() as conn:
        following = await conn.fetchval(
            "UPDATE execution_steps SET next_attempt_at = now() "
            "WHERE execution_id = $1 AND position = $2 RETURNING id",
            first.execution_id,
            first.position + 1,
        )
    assert store.rounds is not None
    rounds, items = store.rounds.rounds, store.rounds.items
    done, taken = await asyncio.gather(
        store.finish(first, completed_claiming_next(first), WORKER, LEASE),
        store.claim(following, WORKER, LEASE, claim_order(datetime.now(UTC))),
    )
    assert (store.rounds.rounds - rounds, store.rounds.items - items) == (2, 3)
    assert taken is not None
    assert taken[0].step_id == following
    assert taken[0].fencing_token == 1
    assert done.applied
    assert done.next_claim is None  # the claim had it
    async with engine.db.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT s.position, s.status, s.fencing_token, "
            "       (SELECT count(*) FROM execution_step_attempts a "
            "         WHERE a.execution_step_id = s.id) AS attempts "
            "FROM execution_steps s WHERE s.execution_id = $1 AND s.position <= $2 "
            "ORDER BY s.position",
            first.execution_id,
            first.position + 1,
        )
        assert [tuple(r) for r in rows][-2:] == [
            (first.position, "COMPLETED", first.fencing_token, 1),
            (first.position + 1, "RUNNING", 1, 1),
        ]
        assert await marked(conn, first) == 1
