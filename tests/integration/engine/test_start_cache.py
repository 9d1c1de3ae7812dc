"""A start takes its workflow from the catalog's cache, and its own statement checks that the
workflow has not changed since (``only_current``): a new version, a deactivation or a move to
another department is seen by the very next start, which writes nothing on the stale answer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from govflow.adapters.db.executions import PgWorkflowCatalog
from govflow.adapters.db.start_rounds import PgStartRounds, Start
from govflow.bootstrap import Container
from govflow.usecases.audit import SYSTEM
from govflow.usecases.errors import ConflictError, NotFoundError
from govflow.usecases.start_execution import (
    NewExecution,
    StartRequest,
    StartResult,
    WorkflowMoved,
    plan_steps,
)
from tests.integration.engine.test_start_rounds import created_with_reply_cut
from tests.support.engine import install_workflow

ECHOES = """
name: cached-echoes
title: Cached echoes
department: general-administration
steps:
{steps}
"""


def echoes(count: int) -> str:
    steps = "\n".join(f"  - {{id: s{n}, action: echo, with: {{value: {n}}}}}" for n in range(count))
    return ECHOES.format(steps=steps)


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    await install_workflow(conn, echoes(3))
    yield conn
    await conn.close()


def reads(engine: Container) -> int:
    assert isinstance(engine.catalog, PgWorkflowCatalog)
    return engine.catalog.reads


async def written(admin: asyncpg.Connection) -> tuple[int, int, int]:
    """Executions, steps and audit records in the database."""
    row = await admin.fetchrow(
        "SELECT (SELECT count(*) FROM executions) AS e, (SELECT count(*) FROM execution_steps)"
        " AS s, (SELECT count(*) FROM audit_logs) AS a"
    )
    assert row is not None
    return row["e"], row["s"], row["a"]


async def pinned(admin: asyncpg.Connection, result: StartResult) -> tuple[int, int]:
    """The version number the execution runs and its step count."""
    row = await admin.fetchrow(
        "SELECT v.version, (SELECT count(*) FROM execution_steps s WHERE s.execution_id = e.id)"
        " AS steps FROM executions e JOIN workflow_versions v ON v.id = e.workflow_version_id"
        " WHERE e.id = $1",
        result.execution_id,
    )
    assert row is not None
    return row["version"], row["steps"]


async def test_an_unchanged_workflow_is_read_once_for_many_starts(
    engine: Container, admin: asyncpg.Connection
) -> None:
    before = reads(engine)
    results = [
        await engine.start_execution(StartRequest(workflow="cached-echoes")) for _ in range(5)
    ]
    assert reads(engine) - before == 1
    assert [await pinned(admin, r) for r in results] == [(1, 3)] * 5


async def test_the_start_after_a_new_version_runs_the_new_version(
    engine: Container, admin: asyncpg.Connection
) -> None:
    first = await engine.start_execution(StartRequest(workflow="cached-echoes"))
    await install_workflow(admin, echoes(4))
    before = reads(engine)
    second = await engine.start_execution(StartRequest(workflow="cached-echoes"))
    assert reads(engine) - before == 1  # the cached answer was refused, then read again
    assert await pinned(admin, first) == (1, 3)
    assert await pinned(admin, second) == (2, 4)
    third = await engine.start_execution(StartRequest(workflow="cached-echoes"))
    assert reads(engine) - before == 1  # the new answer is cached in turn
    assert await pinned(admin, third) == (2, 4)


async def test_a_deactivated_workflow_is_refused_on_a_cached_answer(
    engine: Container, admin: asyncpg.Connection
) -> None:
    await engine.start_execution(StartRequest(workflow="cached-echoes"))
    await admin.execute("UPDATE workflows SET is_active = false WHERE name = 'cached-echoes'")
    counts = await written(admin)
    with pytest.raises(ConflictError, match="deactivated"):
        await engine.start_execution(StartRequest(workflow="cached-echoes"))
    assert await written(admin) == counts
    await admin.execute("UPDATE workflows SET is_active = true WHERE name = 'cached-echoes'")
    result = await engine.start_execution(StartRequest(workflow="cached-echoes"))
    assert await pinned(admin, result) == (1, 3)


async def test_a_workflow_moved_out_of_the_scope_is_not_found_on_a_cached_answer(
    engine: Container, admin: asyncpg.Connection
) -> None:
    home = await admin.fetchval("SELECT department_id FROM workflows WHERE name = 'cached-echoes'")
    other = await admin.fetchval("SELECT id FROM departments WHERE id <> $1 LIMIT 1", home)
    request = StartRequest(workflow="cached-echoes", department_scope=home)
    await engine.start_execution(request)
    await admin.execute(
        "UPDATE workflows SET department_id = $1 WHERE name = 'cached-echoes'", other
    )
    counts = await written(admin)
    with pytest.raises(NotFoundError):
        await engine.start_execution(request)
    assert await written(admin) == counts


async def test_a_stale_start_in_a_round_is_answered_alone_and_writes_nothing(
    engine: Container, admin: asyncpg.Connection
) -> None:
    workflow = await engine.catalog.current("cached-echoes", None)
    assert workflow is not None
    spec = await engine.specs.spec(workflow.version_id)
    await install_workflow(admin, echoes(4))  # the version read above is no longer current

    def start(key: str | None, only_current: bool) -> Start:
        return Start(
            uuid.uuid4(),
            NewExecution(
                workflow_id=workflow.workflow_id,
                version_id=workflow.version_id,
                department_id=workflow.department_id,
                inputs={},
                steps=plan_steps(spec),
                idempotency_key=key,
                actor=SYSTEM,
                only_current=only_current,
            ),
        )

    stale, stale_keyed, pinned_old = start(None, True), start("k", True), start(None, False)
    counts = await written(admin)
    answers = await PgStartRounds(engine.db.pool).send([stale, stale_keyed, pinned_old])
    assert answers[0] == WorkflowMoved()
    assert answers[1] == WorkflowMoved()
    assert isinstance(answers[2], StartResult)  # a start pinned to a version (a child's) runs
    executions, steps, audits = await written(admin)
    assert (executions, steps, audits) == (counts[0] + 1, counts[1] + 3, counts[2] + 1)
    assert (
        await admin.fetchval(
            "SELECT count(*) FROM executions WHERE id = ANY($1::uuid[])",
            [stale.execution_id, stale_keyed.execution_id],
        )
        == 0
    )


async def test_a_round_lost_after_commit_is_answered_created_although_its_workflow_then_changed(
    engine: Container, admin: asyncpg.Connection, database_url: str
) -> None:
    """The round commits, and in the same transaction the workflow is deactivated (a trigger
    stands for a change committed between the round and its re-send); the reply is lost. Sent
    again, each start's check fails, yet the starts were created: each is answered with its
    execution, and nothing is created twice."""
    workflow = await engine.catalog.current("cached-echoes", None)
    assert workflow is not None
    spec = await engine.specs.spec(workflow.version_id)
    news = [
        NewExecution(
            workflow_id=workflow.workflow_id,
            version_id=workflow.version_id,
            department_id=workflow.department_id,
            inputs={"n": n},
            steps=plan_steps(spec),
            idempotency_key=key,
            actor=SYSTEM,
            request_id="cut-this-round" if n == 0 else None,
            only_current=True,
        )
        for n, key in enumerate(["cut-key", None, None])
    ]
    await admin.execute(
        """
        CREATE FUNCTION deactivate_behind() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE workflows SET is_active = false WHERE name = 'cached-echoes';
            RETURN NULL;
        END $$;
        CREATE TRIGGER deactivate_behind AFTER INSERT ON audit_logs FOR EACH ROW
            WHEN (NEW.request_id = 'cut-this-round') EXECUTE FUNCTION deactivate_behind();
        """
    )
    try:
        results, _ = await created_with_reply_cut(database_url, news, b"cut-this-round")
    finally:
        await admin.execute(
            "DROP TRIGGER deactivate_behind ON audit_logs; DROP FUNCTION deactivate_behind()"
        )
    assert not await admin.fetchval("SELECT is_active FROM workflows WHERE name = 'cached-echoes'")
    assert all(isinstance(r, StartResult) and r.created for r in results)
    stored = await admin.fetch("SELECT id FROM executions")
    assert sorted(r["id"] for r in stored) == sorted(
        r.execution_id for r in results if isinstance(r, StartResult)
    )
