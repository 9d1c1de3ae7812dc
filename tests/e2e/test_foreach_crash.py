"""A foreach of 200 items, ten at a time, on real worker processes, whose worker is killed with
SIGKILL right after one item's effect: the restarted attempt runs only the items without a kept
result, each item's keyed effect happens once, and the step completes with the 200 outputs in
order."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest

from govflow.bootstrap import Container, container
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.e2e.test_crashes import settle
from tests.support.engine import install_workflow, plugins_for_tests, prepare_effects, processes

pytestmark = pytest.mark.e2e

ITEMS = 200
MAX_PARALLEL = 10
KILLED_AT = 57
LEASE_SECONDS = 10
"""Long enough that the restarted attempt keeps its lease (renewed every third of it) on a
loaded two-core machine: with 3 s, a renewal held back past the lease let the sweeper take the
second attempt over too (attempt 3, the second attempt's result discarded)."""

WORKFLOW = f"""
name: foreach-crash
title: A long foreach whose worker dies
department: general-administration
inputs:
  parcels: {{type: array}}
defaults:
  retry: {{max_attempts: 5, initial_delay: 0s, jitter: false}}
steps:
  - id: consult
    action: effect_remote_key
    foreach: "{{{{ inputs.parcels }}}}"
    max_parallel: {MAX_PARALLEL}
    with:
      label: "{{{{ item }}}}"
      sleep_ms: 10
      crash: "{{{{ 'after_effect' if index == {KILLED_AT} else none }}}}"
  - id: count
    action: echo
    with: {{value: "{{{{ steps.consult.output['items'] | length }}}}"}}
"""


@pytest.fixture
async def producer(settings: Settings, database_url: str) -> AsyncIterator[Container]:
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


async def test_a_worker_killed_mid_foreach_runs_each_items_effect_once(
    settings: Settings, producer: Container, database_url: str
) -> None:
    parcels = [f"P-{n:03d}" for n in range(ITEMS)]
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, WORKFLOW)
        with processes(settings, LEASE_SECONDS=str(LEASE_SECONDS)) as group:
            for _ in range(2):
                group.start("worker", "--concurrency", "1")
            group.start("scheduler")
            started = await producer.start_execution(
                StartRequest(workflow="foreach-crash", inputs={"parcels": parcels})
            )
            statuses = await settle(conn, group, [started.execution_id], timeout=120.0)
        prefix = f"{started.execution_id}:consult"
        crashed = await conn.fetchval("SELECT count(*) FROM test_crashes")
        keyed = await conn.fetch(
            "SELECT key, label FROM test_remote_keyed WHERE key LIKE $1 || '[%'", prefix
        )
        raw = Counter(
            r["key"]
            for r in await conn.fetch(
                "SELECT key FROM test_effects WHERE key LIKE $1 || '[%'", prefix
            )
        )
        step = await conn.fetchrow(
            "SELECT status, attempt, output::text AS output FROM execution_steps "
            "WHERE execution_id = $1 AND step_key = 'consult'",
            started.execution_id,
        )
        kept = await conn.fetch(
            "SELECT i.item_index, i.fencing_token FROM execution_step_items i "
            "JOIN execution_steps s ON s.id = i.execution_step_id "
            "WHERE s.execution_id = $1",
            started.execution_id,
        )
    finally:
        await conn.close()
    assert crashed == 1, "the worker was killed once, after item 57's effect"
    assert statuses[started.execution_id] == "COMPLETED"
    assert step is not None
    assert (step["status"], step["attempt"]) == ("COMPLETED", 2)
    # The keyed effect of every item happened exactly once.
    assert sorted((r["key"], r["label"]) for r in keyed) == sorted(
        (f"{prefix}[{n}]", parcels[n]) for n in range(ITEMS)
    )
    # Only the items that had no kept result when the worker died ran again: item 57 and at
    # most the others running beside it.
    again = {key for key, count in raw.items() if count > 1}
    assert f"{prefix}[{KILLED_AT}]" in again
    assert len(again) <= MAX_PARALLEL
    assert set(raw) == {f"{prefix}[{n}]" for n in range(ITEMS)}
    assert len(kept) == ITEMS
    tokens = {r["fencing_token"] for r in kept}
    assert len(tokens) == 2, "kept by the first attempt, then by the second"
    output = json.loads(step["output"])
    assert [item["label"] for item in output["items"]] == parcels
