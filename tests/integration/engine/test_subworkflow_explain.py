"""The sub-workflow statements (``sql/subworkflows.sql``) stay on index scans once the tables
have grown: the sweeper's two searches read the partial indexes of migration 0020, and the
worker's look-up of one child's parent runs after every execution that ends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from govflow.adapters.db.queries import load_queries
from govflow.core.spec import OUTPUTS_ACTION
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


@pytest.mark.parametrize("child_id", [None, uuid.uuid4()], ids=["sweep", "one_child"])
async def test_the_sub_workflow_statements_use_indexes(
    grown: asyncpg.Connection, child_id: uuid.UUID | None
) -> None:
    execution_id = await grown.fetchval("SELECT id FROM executions LIMIT 1")
    values = {
        "execution_id": execution_id,
        "name": "explained",
        "version": None,
        "outputs_action": OUTPUTS_ACTION,
        "child_id": child_id,
        "limit": 200,
    }
    offenders = {}
    for name, query in sorted(load_queries("subworkflows.sql").items()):
        for kind, plan in (await plans(grown, query, values)).items():
            scans = sequential_scans(plan)
            if scans:
                offenders[f"{name} ({kind})"] = scans
    assert offenders == {}
