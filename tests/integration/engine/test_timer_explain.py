"""The timer statements (``sql/timers.sql``) stay on index scans once the tables have grown: the
sweeper's search for due timers reads the partial index of migration 0026 at every sweep, and a
``wait`` step's due time is written by the step's key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from govflow.adapters.db.queries import load_queries
from tests.integration.engine.test_explain import FILL, WORKFLOW, plans, sequential_scans
from tests.support.engine import install_workflow

pytestmark = pytest.mark.slow


@pytest.fixture
async def grown(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, WORKFLOW)
        await conn.execute(FILL)
        yield conn
    finally:
        await conn.close()


async def test_the_timer_statements_use_indexes(grown: asyncpg.Connection) -> None:
    step_id = await grown.fetchval("SELECT id FROM execution_steps LIMIT 1")
    values = {
        "step_id": step_id,
        "token": 1,
        "due_at": datetime.now(UTC),
        "now": datetime.now(UTC),
        "limit": 200,
    }
    offenders = {}
    for name, query in sorted(load_queries("timers.sql").items()):
        for kind, plan in (await plans(grown, query, values)).items():
            scans = sequential_scans(plan)
            if scans:
                offenders[f"{name} ({kind})"] = scans
    assert offenders == {}
