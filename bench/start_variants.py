#!/usr/bin/env python
"""Rounds of starts written three ways, for counting instructions (docs/benchmarks.md, Group
commit: starts): ``single`` (one statement per start: ``create_executions`` with one row, as
``START_ROUND_MAX_ROWS=1`` sends it), ``arrays`` (one
statement per round, ``create_executions``: a parameter array per column) and ``jsonb`` (one
statement per round taking the rows as one JSON document, parsed by ``jsonb_to_recordset``:
the form considered and not chosen).

It runs ``--rounds`` rounds of ``--size`` W5 starts (no idempotency key) on one connection of a
database that has the W5 workflow (bench/w5.py) and prints that connection's backend pid.
Run the server under ``valgrind --tool=callgrind`` (one output file per backend) or this
script under it; the instructions of a run with 12 rounds minus those of one with 2 are what
10 rounds cost, without the connection's start-up.

    .venv/bin/python bench/start_variants.py arrays --rounds 12 --size 16 \\
        --database-url postgresql://postgres@127.0.0.1:5498/vgstarts
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

JSONB = """
WITH new AS MATERIALIZED (
    SELECT *
      FROM jsonb_to_recordset($1::jsonb)
           AS n(id uuid, workflow_id uuid, version_id uuid, department_id uuid, inputs jsonb,
                idempotency_key text, created_by uuid, vars jsonb, timeout_seconds float8,
                parent_execution_id uuid, parent_step_id uuid, depth int, runnable_steps int,
                actor_email text, request_id text, trace_context jsonb, steps jsonb)
), execution AS (
    INSERT INTO executions (id, workflow_id, workflow_version_id, department_id, inputs,
                            idempotency_key, created_by, vars, deadline_at,
                            parent_execution_id, parent_step_id, depth, runnable_steps)
    SELECT id, workflow_id, version_id, department_id, inputs, idempotency_key, created_by,
           vars, now() + make_interval(secs => timeout_seconds), parent_execution_id,
           parent_step_id, depth, runnable_steps
      FROM new
     ORDER BY idempotency_key, created_by, id
    ON CONFLICT (idempotency_key, created_by) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id
), steps AS (
    INSERT INTO execution_steps (execution_id, position, step_key, action, max_attempts,
                                 idempotency_key, next_attempt_at, enqueued_at, continue_on_error,
                                 needs_left, dependents)
    SELECT new.id, s.position, s.step_key, s.action, s.max_attempts,
           new.id::text || ':' || s.step_key,
           CASE WHEN s.root THEN now() END,
           CASE WHEN s.root THEN now() END,
           s.continue_on_error, s.needs_left,
           string_to_array(s.dependents, ',')::int4[]
      FROM new
      JOIN execution ON execution.id = new.id
     CROSS JOIN LATERAL jsonb_to_recordset(new.steps)
             AS s(position int, step_key text, action text, max_attempts int,
                  continue_on_error bool, needs_left int, root bool, dependents text)
    RETURNING id, execution_id, position, next_attempt_at
), audit AS (
    INSERT INTO audit_logs (action, actor_id, actor_email, entity_type, entity_id,
                            department_id, request_id, metadata)
    SELECT $2::varchar, new.created_by, new.actor_email, 'execution', new.id::text,
           new.department_id, new.request_id,
           jsonb_build_object('workflow_id', new.workflow_id,
                              'workflow_version_id', new.version_id)
             || coalesce(new.trace_context, '{}'::jsonb)
      FROM new
      JOIN execution ON execution.id = new.id
)
SELECT execution.id,
       coalesce(array_agg(steps.id ORDER BY steps.position)
                  FILTER (WHERE steps.next_attempt_at IS NOT NULL), '{}') AS runnable_step_ids
  FROM execution
  LEFT JOIN steps ON steps.execution_id = execution.id
 GROUP BY execution.id
"""


def jsonb_rows(starts: list[Any]) -> str:
    import msgspec

    return msgspec.json.encode(
        [
            {
                "id": start.execution_id,
                "workflow_id": new.workflow_id,
                "version_id": new.version_id,
                "department_id": new.department_id,
                "inputs": new.inputs,
                "idempotency_key": new.idempotency_key,
                "created_by": new.actor.user_id,
                "vars": new.variables,
                "timeout_seconds": new.timeout_seconds,
                "parent_execution_id": new.parent_execution_id,
                "parent_step_id": new.parent_step_id,
                "depth": new.depth,
                "runnable_steps": new.runnable_steps,
                "actor_email": new.actor.email,
                "request_id": new.request_id,
                "trace_context": new.trace_context,
                "steps": [
                    {
                        "position": s.position,
                        "step_key": s.step_key,
                        "action": s.action,
                        "max_attempts": s.max_attempts,
                        "continue_on_error": s.continue_on_error,
                        "needs_left": s.needs_left,
                        "root": s.root,
                        "dependents": s.dependents,
                    }
                    for s in new.steps
                ],
            }
            for start in starts
            for new in [start.new]
        ]
    ).decode()


async def run(args: argparse.Namespace) -> None:
    import asyncpg

    from govflow.adapters.db.start_rounds import QUERIES, new_start, round_values
    from govflow.usecases.audit import SYSTEM
    from govflow.usecases.start_execution import CREATED_EVENT, NewExecution, NewStep

    create = QUERIES["create_executions"]
    pool = await asyncpg.create_pool(args.database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            print("pid", conn.get_server_pid(), flush=True)
            version = await conn.fetchrow("SELECT id, workflow_id FROM workflow_versions LIMIT 1")
            department = await conn.fetchval("SELECT id FROM departments ORDER BY id LIMIT 1")
        steps = [NewStep(p, f"s{p}", "echo", 1, root=p == 0) for p in range(5)]
        for _ in range(args.rounds):
            starts = [
                new_start(
                    NewExecution(
                        workflow_id=version["workflow_id"],
                        version_id=version["id"],
                        department_id=department,
                        inputs={"n": i},
                        steps=steps,
                        idempotency_key=None,
                        actor=SYSTEM,
                    )
                )
                for i in range(args.size)
            ]
            if args.variant == "single":
                async with pool.acquire() as conn:
                    for start in starts:
                        await conn.fetch(create.sql, *create.args(round_values([start])))
                continue
            async with pool.acquire() as conn:
                if args.variant == "arrays":
                    rows = await conn.fetch(create.sql, *create.args(round_values(starts)))
                else:
                    rows = await conn.fetch(JSONB, jsonb_rows(starts), CREATED_EVENT)
            assert len(rows) == args.size
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("variant", choices=["single", "arrays", "jsonb"])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--size", type=int, default=16, help="starts per round (16)")
    parser.add_argument("--database-url", required=True)
    asyncio.run(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
