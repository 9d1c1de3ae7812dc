"""Gauges of the state in PostgreSQL, refreshed by the scheduler after its sweeps (at most every
``EVERY_SECONDS``) and served on its metrics port (or, with ``PROMETHEUS_MULTIPROC_DIR``, by the
API): the queue's depth and age, executions by status, open human tasks.

The database is the source of truth, so the queue is measured there: a step is pending from the
moment it is due until a worker claims it, whether or not its wake-up is still in Redis.
"""

from __future__ import annotations

import time

import asyncpg
from prometheus_client import Gauge

from govflow.adapters.db.queries import load_queries
from govflow.core.statuses import ExecutionStatus

QUERIES = load_queries("state_metrics.sql")
EVERY_SECONDS = 5.0

PENDING_STEPS = Gauge(
    "govflow_queue_pending_steps",
    "Runnable steps (due, their execution active) that no worker has claimed yet",
    multiprocess_mode="mostrecent",
)
OLDEST_PENDING = Gauge(
    "govflow_queue_oldest_pending_seconds",
    "How long the oldest runnable, unclaimed step has been due (0: none)",
    multiprocess_mode="mostrecent",
)
EXECUTIONS = Gauge(
    "govflow_executions",
    "Executions not over yet (PENDING, RUNNING, WAITING) and in NEEDS_ATTENTION, by status",
    ["status"],
    multiprocess_mode="mostrecent",
)
OPEN_TASKS = Gauge(
    "govflow_human_tasks_open",
    "Human tasks still to be decided",
    multiprocess_mode="mostrecent",
)
COUNTED = sorted(ExecutionStatus.ACTIVE | {ExecutionStatus.NEEDS_ATTENTION})
"""The statuses ``executions_by_status`` counts."""


async def refresh_state_gauges(pool: asyncpg.Pool) -> None:
    """Read the state and set the gauges."""
    async with pool.acquire() as conn:
        queue = await conn.fetchrow(QUERIES["queue_state"].sql)
        by_status = await conn.fetch(QUERIES["executions_by_status"].sql)
        open_tasks = await conn.fetchval(QUERIES["open_tasks"].sql)
    PENDING_STEPS.set(queue["pending"])
    OLDEST_PENDING.set(queue["oldest_seconds"])
    counts = {row["status"]: row["n"] for row in by_status}
    for status in COUNTED:
        EXECUTIONS.labels(status.value).set(counts.get(status.value, 0))
    OPEN_TASKS.set(open_tasks)


class StateGauges:
    """Refreshes the gauges at most every ``every`` seconds."""

    def __init__(self, pool: asyncpg.Pool, every: float = EVERY_SECONDS) -> None:
        self._pool = pool
        self._every = every
        self._next = 0.0

    async def maybe_refresh(self) -> None:
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self._every
        await refresh_state_gauges(self._pool)
