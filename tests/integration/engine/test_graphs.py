"""Graphs of steps (``needs:``) in the engine with PostgreSQL, steps run in-process one by one
(the collecting queue keeps the wake-ups): a fork releases both branches, a join waits for all
its needs and is released once by the last (also when two branches finish at the same moment),
a skipped branch still lets its join run, and a failed branch fails the execution and cancels
the other open branches."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID

import asyncpg

from govflow.adapters.db.steps import _finish_values, finish_query
from govflow.bootstrap import Container
from govflow.core.statuses import AttemptOutcome, ExecutionStatus, StepStatus
from govflow.usecases.audit import Actor
from govflow.usecases.operate import Resolution, resolve_step, retry_execution
from govflow.usecases.ports import StepFinish
from govflow.usecases.start_execution import StartRequest
from govflow.usecases.translate import branch_rules
from tests.support.engine import install_workflow, step_rows

DIAMOND = """
name: diamond
title: A fork and a join
department: general-administration
steps:
  - id: intake
    action: echo
    with: {value: in}
  - id: legal
    action: echo
    needs: [intake]
    if: "{{ LEGAL_IF }}"
    with: {value: "legal of {{ steps.intake.output.value }}"}
  - id: fire
    action: effect_none
    needs: [intake]
    with: {label: fire, business_error: FIRE_FAILS}
  - id: decide
    action: echo
    needs: [legal, fire]
    with: {value: "{{ steps.legal.status }}/{{ steps.fire.output.label }}"}
"""


OPERATOR = Actor(name="ops", email="ops@example.org")


def diamond(legal_if: str = "true", fire_fails: bool = False) -> str:
    return DIAMOND.replace("{{ LEGAL_IF }}", legal_if).replace(
        "FIRE_FAILS", "true" if fire_fails else "false"
    )


async def statuses(conn: asyncpg.Connection, execution_id: UUID) -> dict[str, str]:
    return {s["step_key"]: s["status"] for s in await step_rows(conn, execution_id)}


async def execution_status(conn: asyncpg.Connection, execution_id: UUID) -> str:
    return str(await conn.fetchval("SELECT status FROM executions WHERE id = $1", execution_id))


async def step_ids(conn: asyncpg.Connection, execution_id: UUID) -> dict[str, UUID]:
    rows = await conn.fetch(
        "SELECT step_key, id FROM execution_steps WHERE execution_id = $1", execution_id
    )
    return {r["step_key"]: r["id"] for r in rows}


def woken(engine: Container) -> list[UUID]:
    return engine.queue.woken  # type: ignore[attr-defined,no-any-return]


async def test_a_fork_releases_both_branches_and_the_join_runs_after_the_last(
    engine: Container,
) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, diamond())
        started = await engine.start_execution(StartRequest(workflow="diamond"))
        ids = await step_ids(conn, started.execution_id)
        rows = await conn.fetch(
            "SELECT step_key, needs_left, dependents, next_attempt_at IS NOT NULL AS due "
            "FROM execution_steps WHERE execution_id = $1 ORDER BY position",
            started.execution_id,
        )
        assert [(r["step_key"], r["needs_left"], r["dependents"], r["due"]) for r in rows] == [
            ("intake", 0, [1, 2], True),
            ("legal", 1, [3], False),
            ("fire", 1, [3], False),
            ("decide", 2, [], False),
        ]
        assert woken(engine) == [ids["intake"]]
        await engine.step_runner().run(ids["intake"])
        assert sorted(woken(engine)[1:]) == sorted([ids["legal"], ids["fire"]])
        await engine.step_runner().run(ids["fire"])
        assert len(woken(engine)) == 3, "the join still waits for legal"
        assert await statuses(conn, started.execution_id) == {
            "intake": "COMPLETED",
            "legal": "PENDING",
            "fire": "COMPLETED",
            "decide": "PENDING",
        }
        await engine.step_runner().run(ids["decide"])  # not due: nothing happens
        assert (await statuses(conn, started.execution_id))["decide"] == "PENDING"
        await engine.step_runner().run(ids["legal"])
        assert woken(engine)[3:] == [ids["decide"]]
        await engine.step_runner().run(ids["decide"])
        steps = await step_rows(conn, started.execution_id)
        assert await execution_status(conn, started.execution_id) == "COMPLETED"
    assert [s["status"] for s in steps] == ["COMPLETED"] * 4
    assert json.loads(steps[1]["output"]) == {"value": "legal of in"}
    assert json.loads(steps[3]["output"]) == {"value": "COMPLETED/fire"}


async def test_a_skipped_branch_lets_the_join_run(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, diamond(legal_if="false"))
        started = await engine.start_execution(StartRequest(workflow="diamond"))
        ids = await step_ids(conn, started.execution_id)
        for key in ("intake", "legal", "fire", "decide"):
            await engine.step_runner().run(ids[key])
        steps = await step_rows(conn, started.execution_id)
        assert await execution_status(conn, started.execution_id) == "COMPLETED"
    assert [s["status"] for s in steps] == ["COMPLETED", "SKIPPED", "COMPLETED", "COMPLETED"]
    assert json.loads(steps[3]["output"]) == {"value": "SKIPPED/fire"}


async def test_a_failed_branch_fails_the_execution_and_cancels_the_open_ones(
    engine: Container,
) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, diamond(fire_fails=True))
        started = await engine.start_execution(StartRequest(workflow="diamond"))
        ids = await step_ids(conn, started.execution_id)
        await engine.step_runner().run(ids["intake"])
        await engine.step_runner().run(ids["fire"])
        assert await execution_status(conn, started.execution_id) == "FAILED"
        assert await statuses(conn, started.execution_id) == {
            "intake": "COMPLETED",
            "legal": "CANCELED",
            "fire": "FAILED",
            "decide": "CANCELED",
        }
        canceled = await conn.fetch(
            "SELECT entity_id, reason FROM audit_logs WHERE action = "
            "'WORKFLOW_EXECUTION_STEP_CANCELED' AND metadata->>'execution_id' = $1 ORDER BY id",
            str(started.execution_id),
        )
        await engine.step_runner().run(ids["legal"])  # a late wake-up claims nothing
        assert (await statuses(conn, started.execution_id))["legal"] == "CANCELED"
    assert sorted(r["entity_id"] for r in canceled) == sorted(
        [str(ids["legal"]), str(ids["decide"])]
    )
    assert {r["reason"] for r in canceled} == {"branch_failed"}


async def test_two_branches_finishing_at_once_release_the_join_once(
    engine: Container, database_url: str
) -> None:
    """Both finish statements are held on the execution's row lock until both wait, then race
    on the join's row: exactly one of them must release it, every time."""
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, diamond())
    order = engine.step_runner().claims
    connections = [await asyncpg.connect(database_url) for _ in range(3)]
    holder, first, second = connections
    try:
        for _ in range(10):
            started = await engine.start_execution(StartRequest(workflow="diamond"))
            ids = await step_ids(holder, started.execution_id)
            await engine.step_runner().run(ids["intake"])
            statements = []
            for key in ("legal", "fire"):
                claimed = await engine.steps.claim(ids[key], f"racer-{key}", engine.lease, order)
                assert claimed is not None
                claim, _ = claimed
                finish = StepFinish(
                    step_status=StepStatus.COMPLETED,
                    execution_from=ExecutionStatus.RUNNING,
                    outcome=AttemptOutcome.COMPLETED,
                    output={"value": claim.step_key},
                    release_dependents=(3,),
                    follow_branches=branch_rules(),
                )
                query = finish_query(finish)
                values = _finish_values(claim, finish, "racer", engine.lease)
                statements.append((query.sql, query.args(values)))
            lock = holder.transaction()
            await lock.start()
            await holder.execute(
                "SELECT 1 FROM executions WHERE id = $1 FOR UPDATE", started.execution_id
            )
            racing = [
                asyncio.create_task(conn.fetchrow(sql, *args))
                for conn, (sql, args) in zip((first, second), statements, strict=True)
            ]
            await wait_for_lock_waits(holder, 2)
            await lock.commit()
            rows = await asyncio.gather(*racing)
            assert all(row["applied"] for row in rows)
            released = [i for row in rows for i in row["released_ids"]]
            assert released == [ids["decide"]]
            row = await holder.fetchrow(
                "SELECT needs_left, next_attempt_at IS NOT NULL AS due FROM execution_steps "
                "WHERE id = $1",
                ids["decide"],
            )
            assert (row["needs_left"], row["due"]) == (0, True)
    finally:
        for conn in connections:
            await conn.close()


async def wait_for_lock_waits(conn: asyncpg.Connection, count: int) -> None:
    """Until ``count`` statements wait for a lock (polled, with a deadline)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        # the activity a transaction reads is kept until it ends: read it afresh each time
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '-- finish_step for a step of a graph%'"
        )

        if waiting >= count:
            return
        assert loop.time() < deadline, f"{waiting} statements wait for a lock"
        await asyncio.sleep(0.01)


async def test_an_operator_skip_of_a_branch_releases_the_join(engine: Container) -> None:
    """The operator path counts the join down as a worker's finish does (every step locked)."""
    text = diamond().replace("{{ steps.fire.output.label }}", "{{ steps.fire.status }}")
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, text)
        started = await engine.start_execution(StartRequest(workflow="diamond"))
        ids = await step_ids(conn, started.execution_id)
        await engine.step_runner().run(ids["intake"])
        await engine.step_runner().run(ids["legal"])
        # The state a crashed at-most-once attempt of fire leaves behind.
        await conn.execute(
            "UPDATE execution_steps SET status = 'NEEDS_ATTENTION', attempt = 1, "
            "attempt_started = true, idempotency = 'at_most_once' WHERE id = $1",
            ids["fire"],
        )
        await conn.execute(
            "UPDATE executions SET status = 'NEEDS_ATTENTION' WHERE id = $1", started.execution_id
        )
        result = await resolve_step(
            engine.control,
            engine.queue,
            started.execution_id,
            "fire",
            Resolution.SKIP,
            actor=OPERATOR,
            reason="done by hand",
        )
        assert result.execution_status == "RUNNING"
        assert result.woken == [ids["decide"]]
        await engine.step_runner().run(ids["decide"])
        steps = await step_rows(conn, started.execution_id)
        assert await execution_status(conn, started.execution_id) == "COMPLETED"
    assert [s["status"] for s in steps] == ["COMPLETED", "COMPLETED", "SKIPPED", "COMPLETED"]
    assert json.loads(steps[3]["output"]) == {"value": "COMPLETED/SKIPPED"}


async def test_a_retry_reopens_the_branches_that_the_failed_branch_canceled(
    engine: Container,
) -> None:
    flaky = diamond().replace(
        "with: {label: fire, business_error: false}",
        "with: {label: fire, fail_times: 1}\n    retry: {max_attempts: 1}",
    )
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, flaky)
        started = await engine.start_execution(StartRequest(workflow="diamond"))
        ids = await step_ids(conn, started.execution_id)
        await engine.step_runner().run(ids["intake"])
        await engine.step_runner().run(ids["fire"])
        assert await statuses(conn, started.execution_id) == {
            "intake": "COMPLETED",
            "legal": "CANCELED",
            "fire": "FAILED",
            "decide": "CANCELED",
        }
        retried = await retry_execution(
            engine.control, engine.queue, started.execution_id, actor=OPERATOR, reason="retry"
        )
        assert retried.execution_status == "RUNNING"
        assert sorted(retried.woken) == sorted([ids["legal"], ids["fire"]])
        rows = {
            r["step_key"]: (r["status"], r["needs_left"], r["due"], r["attempt"])
            for r in await conn.fetch(
                "SELECT step_key, status, needs_left, next_attempt_at IS NOT NULL AS due, "
                "attempt FROM execution_steps WHERE execution_id = $1",
                started.execution_id,
            )
        }
        assert rows == {
            "intake": ("COMPLETED", 0, False, 1),
            "legal": ("PENDING", 0, True, 0),
            "fire": ("PENDING", 0, True, 0),
            "decide": ("PENDING", 2, False, 0),
        }
        counted = await conn.fetchval(
            "SELECT runnable_steps FROM executions WHERE id = $1", started.execution_id
        )
        assert counted == 2
        for key in ("fire", "legal"):
            await engine.step_runner().run(ids[key])
        await engine.step_runner().run(ids["decide"])
        assert await execution_status(conn, started.execution_id) == "COMPLETED"
        decided = await conn.fetchrow(
            "SELECT output->>'value' AS value, attempt FROM execution_steps WHERE id = $1",
            ids["decide"],
        )
        reopened = await conn.fetch(
            "SELECT entity_id FROM audit_logs WHERE action = 'WORKFLOW_EXECUTION_STEP_REOPENED' "
            "AND metadata->>'execution_id' = $1",
            str(started.execution_id),
        )
    assert (decided["value"], decided["attempt"]) == ("COMPLETED/fire", 1)
    assert sorted(r["entity_id"] for r in reopened) == sorted(
        [str(ids["legal"]), str(ids["decide"])]
    )
