"""A worker's first read of a workflow version's spec rides out a lost connection."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest

from govflow.adapters.db.specs import CachedSpecSource
from tests.integration.engine.test_lost_connections import QUICK, THREE_ECHOES, Terminator
from tests.support.engine import install_workflow


@pytest.fixture
def terminator(database_url: str) -> Iterator[Terminator]:
    terminator = Terminator(database_url)
    yield terminator
    terminator.close()


async def test_the_first_read_of_a_spec_is_retried_on_a_fresh_connection(
    database_url: str, terminator: Terminator
) -> None:
    admin = await asyncpg.connect(database_url)
    try:
        await install_workflow(admin, THREE_ECHOES)
        version_id = await admin.fetchval("SELECT id FROM workflow_versions LIMIT 1")
    finally:
        await admin.close()
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1, setup=terminator.setup)
    try:
        specs = CachedSpecSource(pool, policy=QUICK)
        terminator.enabled = True
        spec = await specs.spec(version_id)
        assert terminator.killed == 1  # the first connection handed out was dead
        assert [step.id for step in spec.steps] == ["a", "b", "c"]
    finally:
        await pool.close()
