"""The engine's statements stay on index scans once the tables have grown.

100,000 steps (20,000 executions of five steps, most completed, some running, pending or due)
are inserted with ``generate_series`` and analyzed; then every named query of the engine's
``.sql`` files is explained with representative parameters, as the custom plan a first run gets
and as the generic plan a connection settles on after a few runs (``force_generic_plan``): no
plan may read ``execution_steps``, ``executions`` or ``execution_step_attempts`` sequentially.

A statement about one step or one execution must also reach those tables only through the keys
of the rows it names, and this is checked on the generic plans made while the tables are still
empty: a connection of a new worker settles on its generic plan within its first runs, and
keeps it once the tables have grown. On empty tables a status index (``executions_status``) or a
partial index of due or leased steps looks as cheap as the primary key; a plan that picks it
reads every running execution, or every due step, on each call.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import pytest

from govflow.adapters.db.engine import ROUND_SETTINGS
from govflow.adapters.db.queries import Query, load_queries
from govflow.adapters.db.steps import CLAIM_ROUND, FINISH_ROUND, ROUND, ROUND_SHAPES
from govflow.core.statuses import AttemptOutcome, ExecutionStatus, StepStatus
from govflow.usecases.translate import branch_rules, claim_order
from tests.support.engine import install_workflow

pytestmark = pytest.mark.slow

WATCHED = {"execution_steps", "executions", "execution_step_attempts"}
KEYS = {
    # the indexes that find the rows a statement names (by id, or a step by execution and position)
    "executions_pkey",
    "execution_steps_pkey",
    "execution_steps_execution_id_position_key",
    "execution_step_attempts_pkey",  # (execution_step_id, fencing_token), migration 0030
}
SWEEPS = {"take_expired", "due_unclaimed", "past_deadline"}
"""The statements that look for work across the tables (through the partial indexes)."""
EXECUTIONS = 20_000  # as in FILL
STEPS = 5

WORKFLOW = """
name: explained
title: Five echoes
department: general-administration
steps:
  - {id: s0, action: echo, with: {value: 0}}
  - {id: s1, action: echo, with: {value: 1}}
  - {id: s2, action: echo, with: {value: 2}}
  - {id: s3, action: echo, with: {value: 3}}
  - {id: s4, action: echo, with: {value: 4}}
"""

# Every hundredth execution is running (its first step leased, the others pending), every
# hundredth but one has not started (its first step due); the rest completed.
FILL = """
WITH version AS (SELECT id, workflow_id FROM workflow_versions LIMIT 1),
department AS (SELECT id FROM departments ORDER BY id LIMIT 1)
INSERT INTO executions (workflow_id, workflow_version_id, department_id, status, created_at,
                        started_at, finished_at)
SELECT version.workflow_id, version.id, department.id,
       CASE i % 100 WHEN 0 THEN 'RUNNING' WHEN 1 THEN 'PENDING' ELSE 'COMPLETED' END,
       now() - make_interval(secs => i), now() - make_interval(secs => i),
       CASE WHEN i % 100 > 1 THEN now() END
  FROM generate_series(1, 20000) AS i, version, department;

INSERT INTO execution_steps (execution_id, position, step_key, action, status, attempt,
                             fencing_token, idempotency_key, next_attempt_at, lease_owner,
                             lease_expires_at, started_at, finished_at)
SELECT e.id, p, 's' || p, 'echo',
       CASE WHEN e.status = 'COMPLETED' THEN 'COMPLETED'
            WHEN e.status = 'RUNNING' AND p = 0 THEN 'RUNNING' ELSE 'PENDING' END,
       CASE WHEN e.status = 'COMPLETED' OR (e.status = 'RUNNING' AND p = 0) THEN 1 ELSE 0 END,
       1, e.id || ':' || p,
       CASE WHEN e.status = 'PENDING' AND p = 0 THEN now() - interval '1 second' END,
       CASE WHEN e.status = 'RUNNING' AND p = 0 THEN 'worker' END,
       CASE WHEN e.status = 'RUNNING' AND p = 0 THEN now() + interval '30 seconds' END,
       now(), CASE WHEN e.status = 'COMPLETED' THEN now() END
  FROM executions e, generate_series(0, 4) AS p;

INSERT INTO execution_step_attempts (execution_step_id, attempt, fencing_token, worker,
                                     finished_at, outcome)
SELECT s.id, 1, 1, 'worker', s.finished_at,
       CASE WHEN s.status = 'COMPLETED' THEN 'COMPLETED' END
  FROM execution_steps s WHERE s.attempt = 1;

ANALYZE;
"""


@pytest.fixture(scope="module")
def queries() -> dict[str, Query]:
    return {**load_queries("steps.sql"), **load_queries("operations.sql")}


@pytest.fixture
async def empty(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, WORKFLOW)
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def grown(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, WORKFLOW)
        await conn.execute(FILL)
        yield conn
    finally:
        await conn.close()


async def representative(conn: asyncpg.Connection) -> dict[str, Any]:
    """One value for every parameter name the queries use, taken from the grown tables."""
    running = await conn.fetchrow(
        "SELECT s.id, s.execution_id, s.position, s.fencing_token, e.department_id "
        "FROM execution_steps s JOIN executions e ON e.id = s.execution_id "
        "WHERE s.status = 'RUNNING' LIMIT 1"
    )
    pending = await conn.fetchval(
        "SELECT id FROM execution_steps WHERE status = 'PENDING' AND next_attempt_at IS NOT NULL "
        "LIMIT 1"
    )
    assert running is not None
    assert pending is not None
    return parameter_values(dict(running), pending)


def parameter_values(running: Mapping[str, Any], pending: uuid.UUID) -> dict[str, Any]:
    """Every parameter the queries use, around a running step and a pending one."""
    order = claim_order(datetime.now(UTC))
    rule = order.rule(ExecutionStatus.RUNNING)
    assert rule is not None
    audit_one = {
        "a_action": ["WORKFLOW_EXECUTION_STEP_COMPLETED"],
        "a_entity_type": ["execution_step"],
        "a_entity_id": [str(running["id"])],
        "a_reason": [None],
        "a_metadata": ['{"attempt": 1}'],
    }
    return {
        "step_id": pending,
        "token": running["fencing_token"],
        "execution_id": running["execution_id"],
        "execution_from": ExecutionStatus.RUNNING.value,
        "position": running["position"],
        "status": StepStatus.COMPLETED.value,
        "output": '{"value": 1}',
        "error": None,
        "outcome": AttemptOutcome.COMPLETED.value,
        "retry_in": 0.0,
        "wait_reason": None,
        "department": running["department_id"],
        "execution_status": ExecutionStatus.COMPLETED.value,
        "execution_error": None,
        "worker": "worker-explained",
        "lease": 30.0,
        "task": '{"title": "Review"}',
        "next_when": ExecutionStatus.RUNNING.value,
        "handlers_from": running["position"] + 1,
        "next_status": StepStatus.RUNNING.value,
        "next_audit": msgspec.json.encode(rule.audit).decode(),
        "rules": msgspec.json.encode(order.rules).decode(),
        "branch_rules": msgspec.json.encode(branch_rules()).decode(),
        "idempotency": "at_most_once",
        "params": "{}",
        "limit": 200,
        "resend_after": 5.0,
        "from_status": StepStatus.RUNNING.value,
        "reset_attempts": False,
        "runnable_now": False,
        "needs_left": None,
        "runnable_steps": None,
        "dependents": [running["position"] + 1],
        "cancel_from": [StepStatus.PENDING.value, StepStatus.RUNNING.value],
        "cancel_reason": "branch_failed",
        "task_id": running["id"],
        "version": 2,
        "from_version": 1,
        **audit_one,
    }


async def watched(conn: asyncpg.Connection) -> set[str]:
    """The indexes of the watched tables."""
    return {
        row["indexname"]
        for row in await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE tablename = ANY($1::text[])", list(WATCHED)
        )
    }


def a_running_step() -> dict[str, Any]:
    """A running step's columns, for the parameters of statements explained on empty tables."""
    return {
        "id": uuid.uuid4(),
        "execution_id": uuid.uuid4(),
        "position": 0,
        "fencing_token": 1,
        "department_id": uuid.uuid4(),
    }


def literal(value: Any) -> str:
    """``value`` as an SQL literal of unknown type (the prepared statement's parameter types
    decide what it becomes)."""
    if value is None:
        return "NULL"
    if isinstance(value, list):
        items = ",".join(
            "NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
            for v in value
        )
        text = "{" + items + "}"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return "'" + text.replace("'", "''") + "'"


def indexes_used(plan: Any) -> set[str]:
    """The indexes a plan (EXPLAIN's JSON) reads."""
    found = set()
    if isinstance(plan, dict):
        if "Index Name" in plan:
            found.add(plan["Index Name"])
        for child in plan.values():
            found |= indexes_used(child)
    elif isinstance(plan, list):
        for child in plan:
            found |= indexes_used(child)
    return found


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


async def plans(
    conn: asyncpg.Connection, query: Query, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The custom plan (parameters bound) and the generic plan of ``query``."""
    args = query.args(values)
    custom = json.loads(await conn.fetchval("EXPLAIN (FORMAT JSON) " + query.sql, *args))
    name = f"explained_{uuid.uuid4().hex[:8]}"
    async with conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE {name} AS {query.sql}")
        arguments = f"({', '.join(map(literal, args))})" if args else ""
        execute = f"EXPLAIN (FORMAT JSON) EXECUTE {name}{arguments}"
        generic = json.loads(await conn.fetchval(execute))
        await conn.execute(f"DEALLOCATE {name}")
    return {"custom": custom, "generic": generic}


async def test_the_engine_statements_use_indexes_on_grown_tables(
    grown: asyncpg.Connection, queries: dict[str, Query]
) -> None:
    counts = await grown.fetchrow(
        "SELECT (SELECT count(*) FROM execution_steps) AS steps, "
        "(SELECT count(*) FROM executions) AS executions"
    )
    assert counts is not None
    assert (counts["steps"], counts["executions"]) == (EXECUTIONS * STEPS, EXECUTIONS)
    values = await representative(grown)
    hot_path = {
        "claim_step",
        "mark_attempt_started",
        "extend_lease",
        "finish_step",
        "finish_step_claim_next",
        "finish_step_release_next",
        "finish_execution",
        "finish_execution_claim_next",
        "finish_execution_release_next",
        "finish_suspended",
        "take_expired",
        "due_unclaimed",
    }
    assert hot_path <= set(queries)
    offenders = {}
    for name, query in sorted(queries.items()):
        for kind, plan in (await plans(grown, query, values)).items():
            scans = sequential_scans(plan)
            if scans:
                offenders[f"{name} ({kind})"] = scans
    assert offenders == {}


async def test_the_statements_about_one_row_plan_for_its_key_on_empty_tables(
    empty: asyncpg.Connection, queries: dict[str, Query]
) -> None:
    watched_indexes = await watched(empty)
    assert KEYS.issubset(watched_indexes)  # the names above are the schema's
    running = a_running_step()
    values = parameter_values(running, uuid.uuid4())
    offenders = {}
    for name, query in sorted(queries.items()):
        if name in SWEEPS:
            continue
        generic = (await plans(empty, query, values))["generic"]
        off_key = sorted((indexes_used(generic) & watched_indexes) - KEYS)
        if off_key or sequential_scans(generic):
            offenders[name] = off_key + sequential_scans(generic)
    assert offenders == {}


async def test_a_scan_off_the_key_is_noticed(empty: asyncpg.Connection) -> None:
    """The check itself: a guard on a status written as a plain equality is planned on the
    status index while the table is empty."""
    query = Query(
        name="by_status",
        sql="SELECT id FROM executions WHERE id = $1 AND status = $2 FOR NO KEY UPDATE",
        params=("execution_id", "status"),
    )
    generic = (await plans(empty, query, {"execution_id": uuid.uuid4(), "status": "RUNNING"}))[
        "generic"
    ]
    assert indexes_used(generic) == {"executions_status"}


async def test_a_sequential_scan_is_noticed(grown: asyncpg.Connection) -> None:
    """The check itself: a query that must scan the steps is reported."""
    query = Query(
        name="scan", sql="SELECT count(*) FROM execution_steps WHERE output IS NULL", params=()
    )
    planned = await plans(grown, query, {})
    assert sequential_scans(planned["custom"]) == ["execution_steps"]
    assert sequential_scans(planned["generic"]) == ["execution_steps"]


def test_literals_keep_their_text() -> None:
    assert literal(None) == "NULL"
    assert literal(["a", None, "q\"o'te"]) == '\'{"a",NULL,"q\\"o\'\'te"}\''
    assert literal(timedelta(seconds=1)) == "'0:00:01'"
    assert literal(True) == "'true'"


def round_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of a round (``step_rounds.sql``): two finishes, each as ``values``
    describes one (the first claims the next step, the second ends its execution), and two
    claims (the pending step and another)."""
    rows = list(ROUND.params)
    scalars = {"worker", "lease", "rules", "claim_id"}
    audit = {name: values[name] * 2 for name in values if name.startswith("a_")}
    arrays = {
        name: [values[name], values[name]]
        for name in rows
        if name not in scalars and not name.startswith("a_")
    }
    arrays["execution_status"] = [None, ExecutionStatus.COMPLETED.value]
    arrays["next_status"] = [values["next_status"], None]
    return {
        **arrays,
        **audit,
        "a_row": [1, 2],
        "worker": values["worker"],
        "lease": 30.0,
        "claim_id": [values["step_id"], uuid.uuid4()],
        "rules": values["rules"],
    }


async def round_plans(
    conn: asyncpg.Connection, query: Query, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The custom and the generic plan of ``query`` on a connection that sends rounds
    (``ROUND_SETTINGS``)."""
    async with conn.transaction():
        for name, setting in ROUND_SETTINGS.items():
            await conn.execute(f"SET LOCAL {name} = {setting}")
        return await plans(conn, query, values)


def off_key_reads(plan: Any, watched_indexes: set[str]) -> list[str]:
    """The watched tables ``plan`` reads sequentially and the watched indexes it reads that are
    not a key of the rows it names."""
    return sequential_scans(plan) + sorted((indexes_used(plan) & watched_indexes) - KEYS)


ROUNDS = pytest.mark.parametrize(
    "query", [ROUND, CLAIM_ROUND, FINISH_ROUND], ids=lambda query: query.name
)


@ROUNDS
async def test_a_round_reaches_every_row_by_its_key(
    empty: asyncpg.Connection, query: Query
) -> None:
    """On empty tables, the plan a round connection makes for a round (of claims and finishes,
    or of one kind), and the generic plan it keeps (``ROUND_SETTINGS``), read the steps,
    executions and attempts through their keys only."""
    watched_indexes = await watched(empty)
    values = round_values(parameter_values(a_running_step(), uuid.uuid4()))
    planned = await round_plans(empty, query, values)
    assert off_key_reads(planned["custom"], watched_indexes) == []
    assert off_key_reads(planned["generic"], watched_indexes) == []


@ROUNDS
async def test_a_round_uses_indexes_on_grown_tables(
    grown: asyncpg.Connection, query: Query
) -> None:
    planned = await round_plans(grown, query, round_values(await representative(grown)))
    assert sequential_scans(planned["custom"]) == []
    assert sequential_scans(planned["generic"]) == []


async def test_a_generic_plan_of_a_round_made_on_empty_tables_would_scan(
    empty: asyncpg.Connection,
) -> None:
    """Why round connections plan for key lookups only: under the default planner settings, the
    generic plan a connection settles on while the tables are empty hash-joins over a
    sequential scan of the steps, and keeps doing so once the table has grown."""
    values = round_values(parameter_values(a_running_step(), uuid.uuid4()))
    assert "execution_steps" in sequential_scans((await plans(empty, ROUND, values))["generic"])


async def test_the_single_steps_on_round_connections_plan_for_their_keys(
    empty: asyncpg.Connection, queries: dict[str, Query]
) -> None:
    """A step claimed or finished alone goes in its single-row statement on the round
    connections (``ROUND_SETTINGS``): the plans made there on empty tables reach its rows by
    their keys."""
    watched_indexes = await watched(empty)
    values = parameter_values(a_running_step(), uuid.uuid4())
    offenders = {}
    for name in sorted({"claim_step", "claimed_by", *(query.name for query in ROUND_SHAPES)}):
        for kind, plan in (await round_plans(empty, queries[name], values)).items():
            if off := off_key_reads(plan, watched_indexes):
                offenders[f"{name} ({kind})"] = off
    assert offenders == {}
