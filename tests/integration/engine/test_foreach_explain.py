"""The foreach statements (``sql/foreach.sql``) stay on index scans once the tables have grown:
an attempt reads its step's kept item results and keeps each item's through the unique index of
migration 0024 and the step's key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from govflow.adapters.db.queries import load_queries
from tests.integration.engine.test_explain import FILL, WORKFLOW, plans, sequential_scans
from tests.support.engine import install_workflow

pytestmark = pytest.mark.slow

ITEMS = """
INSERT INTO execution_step_items (execution_step_id, item_index, fencing_token, output)
SELECT s.id, n, 1, '{}'::jsonb
  FROM (SELECT id FROM execution_steps LIMIT 2000) s, generate_series(0, 49) n
"""


@pytest.fixture
async def grown(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, WORKFLOW)
        await conn.execute(FILL)
        await conn.execute(ITEMS)
        await conn.execute("ANALYZE execution_step_items")
        yield conn
    finally:
        await conn.close()


async def test_the_foreach_statements_use_indexes(grown: asyncpg.Connection) -> None:
    step_id = await grown.fetchval("SELECT execution_step_id FROM execution_step_items LIMIT 1")
    values = {"step_id": step_id, "token": 1, "item_index": 60, "output": "{}"}
    offenders = {}
    for name, query in sorted(load_queries("foreach.sql").items()):
        for kind, plan in (await plans(grown, query, values)).items():
            scans = sequential_scans(plan)
            if scans:
                offenders[f"{name} ({kind})"] = scans
    assert offenders == {}
