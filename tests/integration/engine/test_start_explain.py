"""The statements of starts in rounds (``sql/starts.sql``) read no table sequentially once the
tables have grown, and their generic plans made on empty tables reach the watched tables through
their keys only (see test_explain.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from govflow.adapters.db.queries import load_queries
from govflow.adapters.db.start_rounds import Start, round_values
from govflow.usecases.audit import SYSTEM
from govflow.usecases.start_execution import NewExecution, NewStep
from tests.integration.engine.test_explain import (
    FILL,
    KEYS,
    WATCHED,
    WORKFLOW,
    indexes_used,
    plans,
    sequential_scans,
)
from tests.support.engine import install_workflow

pytestmark = pytest.mark.slow


@pytest.fixture
async def empty(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, WORKFLOW)
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def grown(empty: asyncpg.Connection) -> asyncpg.Connection:
    await empty.execute(FILL)
    return empty


async def values(conn: asyncpg.Connection) -> dict[str, Any]:
    """A round of three starts of the installed workflow (one with a key), and one execution."""
    version = await conn.fetchrow("SELECT id, workflow_id FROM workflow_versions LIMIT 1")
    department = await conn.fetchval("SELECT id FROM departments ORDER BY id LIMIT 1")
    assert version is not None
    steps = [NewStep(p, f"s{p}", "echo", 1, root=p == 0) for p in range(5)]
    starts = [
        Start(
            uuid.uuid4(),
            NewExecution(
                workflow_id=version["workflow_id"],
                version_id=version["id"],
                department_id=department,
                inputs={"n": n},
                steps=steps,
                idempotency_key="explained" if n == 0 else None,
                actor=SYSTEM,
            ),
        )
        for n in range(3)
    ]
    return {
        **round_values(starts),
        "execution_id": starts[0].execution_id,
        "positions": [0],
    }


async def test_the_start_statements_read_no_table_sequentially(grown: asyncpg.Connection) -> None:
    given = await values(grown)
    offenders = {}
    for name, query in sorted(load_queries("starts.sql").items()):
        for kind, plan in (await plans(grown, query, given)).items():
            if scans := sequential_scans(plan):
                offenders[f"{name} ({kind})"] = scans
    assert offenders == {}


async def test_the_start_statements_plan_for_keys_on_empty_tables(
    empty: asyncpg.Connection,
) -> None:
    watched = {
        row["indexname"]
        for row in await empty.fetch(
            "SELECT indexname FROM pg_indexes WHERE tablename = ANY($1::text[])", list(WATCHED)
        )
    }
    given = await values(empty)
    offenders = {}
    for name, query in sorted(load_queries("starts.sql").items()):
        generic = (await plans(empty, query, given))["generic"]
        off_key = sorted((indexes_used(generic) & watched) - KEYS)
        if off_key or sequential_scans(generic):
            offenders[name] = off_key + sequential_scans(generic)
    assert offenders == {}
