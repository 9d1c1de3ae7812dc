"""The deadline sweep's statements stay on index scans once the tables have grown.

20,000 tasks (most closed long ago, a few open with a deadline, some of them overdue) and as
many sent notifications are inserted and analyzed; the sweep's reads are explained as custom
and generic plans (the style of ``tests/integration/engine/test_explain.py``): none may read
``human_tasks`` or ``task_notifications`` sequentially.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from govflow.adapters.db.queries import load_queries
from tests.integration.engine.test_explain import plans

pytestmark = pytest.mark.slow

TASKS = 20_000

# Every hundredth task is open with a deadline (half of those past), the rest closed.
FILL = """
INSERT INTO human_tasks (title, status, due_at, overdue)
SELECT 'task ' || i,
       CASE WHEN i % 100 = 0 THEN 'ASSIGNED' ELSE 'CLOSED' END,
       now() + make_interval(secs => CASE WHEN i % 200 = 0 THEN -i ELSE i END),
       i % 100 <> 0
  FROM generate_series(1, 20000) AS i;

INSERT INTO task_notifications (key, task_id, why, recipients, channel, message, sent_at)
SELECT 'k' || t.id, t.id, 'overdue', '{}'::jsonb, '{}'::jsonb, 'm', now()
  FROM human_tasks t;

ANALYZE human_tasks;
ANALYZE task_notifications;
"""


WATCHED = {"human_tasks", "task_notifications"}


def sequential_scans(plan: Any) -> list[str]:
    """The watched tables a plan (EXPLAIN's JSON) reads with a sequential scan."""
    found = []
    if isinstance(plan, dict):
        if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in WATCHED:
            found.append(plan["Relation Name"])
        for child in plan.values():
            found.extend(sequential_scans(child))
    elif isinstance(plan, list):
        for child in plan:
            found.extend(sequential_scans(child))
    return found


@pytest.fixture
async def grown(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(FILL)
        yield conn
    finally:
        await conn.close()


async def test_the_deadline_sweep_uses_indexes_on_grown_tables(
    grown: asyncpg.Connection,
) -> None:
    assert await grown.fetchval("SELECT count(*) FROM human_tasks") == TASKS
    queries = load_queries("task_deadlines.sql")
    values = {
        "due_tasks": {"limit": 100},
        "overdue_open": {},
        "take_notices": {"limit": 100, "lease_seconds": 60.0},
        "unannounced_step_tasks": {"limit": 100},
    }
    for name, args in values.items():
        explained = await plans(grown, queries[name], args)
        for kind, plan in explained.items():
            scans = sequential_scans(plan)
            assert not scans, f"{name} ({kind}) reads {scans} sequentially: {plan}"
