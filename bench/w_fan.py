#!/usr/bin/env python
"""Benchmark W-fan: one step fanning out to ``--fan`` parallel ``echo`` steps that a last step
joins (``needs:``), beside the linear W5 measured in the same run, by the same workers.

Measures, with ``w5.py``'s harness (a fresh ``bench_*`` database, real ``govflow worker``
processes, the same Redis):

* W5: steps/s of ``--w5-n`` five-step executions (``w5.py``'s throughput phase);
* W-fan: steps/s of ``--fan-n`` executions of ``1 + fan + 1`` steps started together, and the
  join latency of each: from the last branch's ``finished_at`` to the join's ``started_at``
  (both the database's clock);
* the ratio of W-fan's steps/s to W5's.

Usage (see bench/README.md)::

    .venv/bin/python bench/w_fan.py [--fan 100] [--fan-n 10] [--w5-n 500] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import w5
from common import children, machine, say, servers, summary_ms, with_database

FAN_NAME = "bench-w-fan"


def fan_workflow(fan: int) -> str:
    branches = "".join(
        f"  - {{id: b{i}, action: echo, needs: [start], "
        f'with: {{value: "{{{{ steps.start.output.value }}}}"}}}}\n'
        for i in range(fan)
    )
    needs = ", ".join(f"b{i}" for i in range(fan))
    return f"""
name: {FAN_NAME}
title: Benchmark W-fan, one step fanning out to {fan} parallel steps and a join
department: general-administration
inputs:
  n: {{type: integer}}
steps:
  - {{id: start, action: echo, with: {{value: "{{{{ inputs.n }}}}"}}}}
{branches}  - {{id: join, action: echo, needs: [{needs}], with: {{value: joined}}}}
"""


async def fan_round(services: Any, conn: Any, count: int, fan: int) -> dict[str, Any]:
    """Start ``count`` fan executions together; steps/s until all completed, join latencies."""
    from govflow.usecases.start_execution import StartRequest

    since = await conn.fetchval("SELECT now()")
    t0 = time.perf_counter()
    started = await asyncio.gather(
        *(
            services.start_execution(StartRequest(workflow=FAN_NAME, inputs={"n": i}))
            for i in range(count)
        )
    )
    ids = [s.execution_id for s in started]
    deadline = t0 + max(120.0, count * fan / 20)
    while True:
        rows = await conn.fetch("SELECT status FROM executions WHERE id = ANY($1::uuid[])", ids)
        statuses = [r["status"] for r in rows]
        if all(s == "COMPLETED" for s in statuses):
            break
        ended = [s for s in statuses if s not in ("PENDING", "RUNNING", "COMPLETED")]
        if ended or time.perf_counter() > deadline:
            raise RuntimeError(f"fan executions did not complete: {sorted(set(statuses))}")
        await asyncio.sleep(0.02)
    wall = time.perf_counter() - t0
    joins = await conn.fetch(
        "SELECT extract(epoch FROM j.started_at - b.last)::float8 AS latency "
        "  FROM execution_steps j "
        "  JOIN LATERAL (SELECT max(s.finished_at) AS last FROM execution_steps s "
        "                 WHERE s.execution_id = j.execution_id AND s.step_key LIKE 'b%') b "
        "    ON true "
        " WHERE j.execution_id = ANY($1::uuid[]) AND j.step_key = 'join'",
        ids,
    )
    span = await conn.fetchval(
        "SELECT extract(epoch FROM max(finished_at) - min(created_at))::float8 FROM executions "
        "WHERE created_at >= $1 AND id = ANY($2::uuid[])",
        since,
        ids,
    )
    steps = count * (fan + 2)
    return {
        "executions": count,
        "steps": steps,
        "wall_s": round(wall, 3),
        "steps_per_s": round(steps / wall, 1),
        "db_span_s": round(float(span), 3) if span is not None else None,
        "join_latency_ms": summary_ms([r["latency"] for r in joins]),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg

    from govflow.adapters.db.migrations import migrate
    from govflow.adapters.services import ServiceUrls
    from govflow.bootstrap import container
    from govflow.settings import Mode, Settings
    from tests.support.engine import install_workflow, plugins_for_tests

    report: dict[str, Any] = {
        "args": {k: v for k, v in vars(args).items() if k not in ("database_url", "redis_url")},
        "machine": machine(),
    }
    run_id = uuid.uuid4().hex[:10]
    urls = servers(args.database_url, args.redis_url)
    database = f"bench_{run_id}"
    admin = await asyncpg.connect(urls.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
        database_url = with_database(urls.database_url, database)
        conn = await asyncpg.connect(database_url)
        try:
            await migrate(conn)
            await install_workflow(conn, w5.WORKFLOW_YAML)
            await install_workflow(conn, fan_workflow(args.fan))
        finally:
            await conn.close()
        home = Path(urls.home or Path("/tmp") / f"gfb-{run_id}")
        queue = f"bench:{run_id}:steps"
        settings = Settings(
            mode=Mode.TEST,
            database_url=database_url,
            redis_url=urls.redis_url,
            jwt_secret=w5.JWT_SECRET,
            queue_name=queue,
            govflow_home=home,
            db_pool_min=1,
            db_pool_max=args.producers + 2,
            _env_file=None,
        )
        os.environ["GOVFLOW_TEST_EFFECTS_DSN"] = database_url
        with children() as group:
            env = w5.worker_env(database_url, urls.redis_url, queue, home, args.concurrency)
            command = [sys.executable, "-m", "govflow", "worker", "--concurrency"]
            workers = [
                group.start([*command, str(args.concurrency)], env) for _ in range(args.workers)
            ]
            async with container(
                settings, ServiceUrls(database_url, urls.redis_url), plugins=plugins_for_tests()
            ) as services:
                poll = await asyncpg.connect(database_url)
                try:
                    bench = w5.GovFlowBench(
                        services, poll, database, [w.pid for w in workers], args
                    )
                    say("warm-up until every worker has run steps")
                    await w5.until_all_consume(
                        lambda: bench.warm_up(20),
                        lambda: w5.consumers(services.redis, queue, w5.GOVFLOW_GROUP),
                        args.workers,
                        lambda: group.check_alive(workers),
                    )
                    await fan_round(services, poll, 1, args.fan)  # warm the fan path too
                    rounds = []
                    for r in range(args.rounds):
                        say(f"round {r + 1}/{args.rounds}: W5 {args.w5_n} executions")
                        linear = (await bench.throughput(args.w5_n, args.producers)).as_dict()
                        say(f"round {r + 1}/{args.rounds}: W-fan {args.fan_n} executions")
                        fan = await fan_round(services, poll, args.fan_n, args.fan)
                        rounds.append(
                            {
                                "w5_steps_per_s": round(linear["steps_per_s"], 1),
                                "w_fan": fan,
                                "ratio_fan_to_w5": round(
                                    fan["steps_per_s"] / linear["steps_per_s"], 3
                                ),
                            }
                        )
                    report["rounds"] = rounds
                    group.check_alive(workers)
                finally:
                    await poll.close()
            group.stop(workers)
            group.stop()
        return report
    finally:
        if not args.keep_database:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
        urls.stop()


def render(report: dict[str, Any]) -> str:
    lines = [
        f"W-fan (fan {report['args']['fan']}, {report['args']['workers']} workers) beside W5",
        f"{'round':>5} {'W5 steps/s':>11} {'fan steps/s':>12} {'ratio':>6} "
        f"{'join p50 ms':>12} {'join p99 ms':>12} {'join max ms':>12}",
    ]
    for i, r in enumerate(report["rounds"], 1):
        join = r["w_fan"]["join_latency_ms"]
        lines.append(
            f"{i:>5} {r['w5_steps_per_s']:>11} {r['w_fan']['steps_per_s']:>12} "
            f"{r['ratio_fan_to_w5']:>6} {join.get('p50', '-'):>12} {join.get('p99', '-'):>12} "
            f"{join.get('max', '-'):>12}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--database-url", default=os.environ.get("GOVFLOW_BENCH_DATABASE_URL"))
    p.add_argument("--redis-url", default=os.environ.get("GOVFLOW_BENCH_REDIS_URL"))
    p.add_argument("--fan", type=int, default=100, help="parallel steps between fork and join")
    p.add_argument("--fan-n", type=int, default=10, help="fan executions per round")
    p.add_argument("--w5-n", type=int, default=500, help="W5 executions per round")
    p.add_argument("--workers", type=int, default=2, help="worker processes")
    p.add_argument("--concurrency", type=int, default=10, help="steps each worker runs at once")
    p.add_argument("--producers", type=int, default=4, help="concurrent W5 starters")
    p.add_argument("--rounds", type=int, default=3, help="rounds (W5 then W-fan each)")
    p.add_argument("--keep-database", action="store_true", help="do not drop the bench database")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=2, default=str) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
