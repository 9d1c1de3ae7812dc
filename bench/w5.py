#!/usr/bin/env python
"""Benchmark W5: a workflow of five sequential ``echo`` steps, run by real worker processes.

Measures, in one run and against the same Redis:

* GovFlow: executions/s and durable steps/s for ``-n`` executions started as fast as the
  ``start_execution`` use case allows (one process, ``--producers`` concurrent callers) with
  ``--workers`` worker processes (``python -m govflow worker``); start-to-COMPLETED latency of
  ``--latency-n`` executions started one after another (client wall clock, and the database's
  ``finished_at - created_at``); the workers' peak RSS (VmHWM).
* The baseline: a plain Taskiq chain of five no-op tasks (each kiqs the next, the last one
  records completion in Redis) on a ``RedisStreamBroker`` configured like GovFlow's, with the
  same number of worker processes and the same receiver settings, no database.
* With ``--preload N``: the GovFlow phases again after inserting N completed executions (five
  completed steps, attempts and audit rows each) straight into the tables.

The sweeper (``govflow scheduler``) is not running during the measurement (``--scheduler`` to
run it): nothing in this benchmark needs recovery, and its periodic scans would only add noise.

Usage (see bench/README.md)::

    .venv/bin/python bench/w5.py [-n 1000] [--latency-n 100] [--workers 2] [--preload 1000000]

Results go to stdout (a table, or JSON with ``--json``); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ROOT,
    Children,
    children,
    cpu_seconds,
    machine,
    proc_status,
    say,
    servers,
    summary_ms,
    system_busy_seconds,
    wait_for,
    with_database,
)

STEPS = 5
WORKFLOW_NAME = "bench-w5"
WORKFLOW_YAML = f"""
name: {WORKFLOW_NAME}
title: Benchmark W5, five sequential echo steps
department: general-administration
inputs:
  n: {{type: integer}}
steps:
  - {{id: a, action: echo, with: {{value: "{{{{ inputs.n }}}}"}}}}
  - {{id: b, action: echo, with: {{value: "{{{{ steps.a.output.value }}}}"}}}}
  - {{id: c, action: echo, with: {{value: "{{{{ steps.b.output.value }}}}"}}}}
  - {{id: d, action: echo, with: {{value: "{{{{ steps.c.output.value }}}}"}}}}
  - {{id: e, action: echo, with: {{value: "{{{{ steps.d.output.value }}}}"}}}}
"""
JWT_SECRET = "bench-secret-" + "x" * 40
GOVFLOW_GROUP = "govflow-workers"
BASELINE_GROUP = "bench-baseline"
BASELINE_TASK = "bench.w5.hop"

TARGETS = {
    "executions_per_s": 150.0,
    "durable_steps_per_s": 750.0,
    "ratio_to_baseline": 0.5,
    "latency_p50_ms": 15.0,
    "latency_p99_ms": 40.0,
    "worker_peak_rss_mb": 150.0,
    "preload_retention": 0.8,
}


# --- the plain Taskiq chain (baseline) ----------------------------------------------------------


def baseline_broker(redis_url: str, queue: str):  # type: ignore[no-untyped-def]
    """A stream broker configured like GovFlow's (govflow.adapters.queue.broker), own group."""
    from taskiq_redis import RedisStreamBroker

    return RedisStreamBroker(
        url=redis_url,
        queue_name=queue,
        consumer_group_name=BASELINE_GROUP,
        consumer_id="0",
        maxlen=1_000_000,
        approximate=True,
        idle_timeout=60_000,
        unacknowledged_lock_timeout=60,
        xread_block=1000,
    )


async def baseline_worker(redis_url: str, queue: str, concurrency: int) -> None:
    """A worker process of the plain chain: the same Receiver settings as ``govflow worker``."""
    import logging

    import redis.asyncio as aioredis
    from taskiq.kicker import AsyncKicker
    from taskiq.receiver import Receiver

    logging.basicConfig(level=logging.WARNING)
    broker = baseline_broker(redis_url, queue)
    broker.is_worker_process = True
    client = aioredis.Redis.from_url(redis_url)
    kicker: AsyncKicker[[str, int], None] = AsyncKicker(BASELINE_TASK, broker, {})
    counter = f"{queue}:done"

    async def hop(chain: str, index: int) -> None:
        if index + 1 < STEPS:
            await kicker.kiq(chain, index + 1)
        elif chain.startswith("L"):  # latency probe: the client BLPOPs this key
            await client.rpush(f"{queue}:done:{chain}", 1)
        else:
            await client.incr(counter)

    broker.register_task(hop, task_name=BASELINE_TASK)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    receiver = Receiver(
        broker,
        validate_params=False,
        max_async_tasks=concurrency,
        max_prefetch=concurrency,
        propagate_exceptions=False,
        wait_tasks_timeout=30,
    )
    try:
        await receiver.listen(stop)
    finally:
        await broker.shutdown()
        await client.aclose()


# --- results -----------------------------------------------------------------------------------


@dataclass
class Throughput:
    n: int
    wall_s: float
    starts_s: float
    executions_per_s: float
    steps_per_s: float
    db_span_s: float | None = None
    worker_cpu_s: float = 0.0
    bench_cpu_s: float = 0.0
    postgres_cpu_s: float | None = None
    system_busy_s: float = 0.0
    redis_cpu_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["worker_cpu_ms_per_execution"] = round(self.worker_cpu_s * 1000 / self.n, 3)
        d["worker_cpu_ms_per_step"] = round(self.worker_cpu_s * 1000 / self.n / STEPS, 3)
        if self.postgres_cpu_s is not None:
            d["postgres_cpu_ms_per_execution"] = round(self.postgres_cpu_s * 1000 / self.n, 3)
        d["bench_cpu_ms_per_execution"] = round(self.bench_cpu_s * 1000 / self.n, 3)
        d["cores_busy"] = round(self.system_busy_s / self.wall_s, 2) if self.wall_s else None
        if self.redis_cpu_s is not None:
            d["redis_cpu_ms_per_execution"] = round(self.redis_cpu_s * 1000 / self.n, 3)
        ours = (
            self.worker_cpu_s
            + self.bench_cpu_s
            + (self.postgres_cpu_s or 0.0)
            + (self.redis_cpu_s or 0.0)
        )
        # CPU the rest of the machine used meanwhile (other processes; Redis; for the baseline
        # also PostgreSQL is "other"): the benchmark's figures are only clean when this is small.
        d["other_cores_busy"] = round(max(0.0, self.system_busy_s - ours) / self.wall_s, 2)
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in d.items()}


@dataclass
class Report:
    args: dict[str, Any]
    machine: dict[str, Any]
    servers: dict[str, Any] = field(default_factory=dict)
    govflow: dict[str, Any] = field(default_factory=dict)
    preloaded: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)


# --- the GovFlow side --------------------------------------------------------------------------


def worker_env(
    database_url: str, redis_url: str, queue: str, home: Path, concurrency: int
) -> dict[str, str]:
    """The environment of ``python -m govflow worker`` (mirrors tests.support.engine.process_env,
    with the production defaults for leases and sweeping)."""
    return {
        **os.environ,
        "GOVFLOW_MODE": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "QUEUE_NAME": queue,
        "JWT_SECRET": JWT_SECRET,
        "GOVFLOW_HOME": str(home),
        "GOVFLOW_PLUGINS_MODULES": "tests.support.effects_plugin",
        "GOVFLOW_TEST_EFFECTS_DSN": database_url,
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
        "WORKER_CONCURRENCY": str(concurrency),
        "DB_POOL_MIN": "2",
        "DB_POOL_MAX": str(max(10, concurrency)),
    }


async def consumers(redis_client, stream: str, group: str) -> int:  # type: ignore[no-untyped-def]
    from redis.exceptions import ResponseError

    try:
        return len(await redis_client.xinfo_consumers(stream, group))
    except ResponseError:
        return 0


async def until_all_consume(
    warm_up, consumer_count, workers: int, alive, timeout: float = 90
) -> None:  # type: ignore[no-untyped-def]
    """Run warm-up rounds until ``workers`` consumers have read from the stream (Redis 7 only
    lists a consumer in the group once it has read messages), then one more round."""
    deadline = time.monotonic() + timeout
    while True:
        alive()
        await warm_up()
        if await consumer_count() >= workers:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"not all {workers} workers consumed messages within {timeout}s")
        await asyncio.sleep(0.5)
    await warm_up()


class GovFlowBench:
    def __init__(
        self, services, conn, database: str, worker_pids: list[int], args, redis_pid=None
    ) -> None:  # type: ignore[no-untyped-def]
        self.redis_pids = [redis_pid] if redis_pid else []
        self.services = services
        self.conn = conn  # a dedicated connection for polling (not from the pool)
        self.database = database
        self.worker_pids = worker_pids
        self.args = args

    async def start(self, n: int) -> Any:
        from govflow.usecases.start_execution import StartRequest

        return await self.services.start_execution(
            StartRequest(workflow=WORKFLOW_NAME, inputs={"n": n})
        )

    async def postgres_pids(self) -> list[int]:
        rows = await self.conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database
        )
        return [r["pid"] for r in rows if Path(f"/proc/{r['pid']}").exists()]

    async def failed_since(self, since: Any) -> int:
        return int(
            await self.conn.fetchval(
                "SELECT count(*) FROM executions WHERE created_at >= $1 "
                "AND status NOT IN ('PENDING', 'RUNNING', 'COMPLETED')",
                since,
            )
        )

    async def warm_up(self, count: int) -> None:
        since = await self.conn.fetchval("SELECT now()")
        await asyncio.gather(*(self.start(i) for i in range(count)))
        await wait_for(
            lambda: self.conn.fetchval(
                "SELECT count(*) FROM executions WHERE status = 'COMPLETED' AND created_at >= $1",
                since,
            ),
            lambda done: done >= count,
            timeout=60,
            what="warm-up executions completed",
        )

    async def throughput(self, n: int, producers: int) -> Throughput:
        since = await self.conn.fetchval("SELECT now()")
        pg_pids = await self.postgres_pids()
        numbers = iter(range(n))
        cpu0 = (
            cpu_seconds(self.worker_pids),
            time.process_time(),
            cpu_seconds(pg_pids),
            system_busy_seconds(),
            cpu_seconds(self.redis_pids),
        )
        t0 = time.perf_counter()
        starts_done = 0.0

        async def producer() -> None:
            for i in numbers:
                await self.start(i)

        async def produce_all() -> None:
            nonlocal starts_done
            await asyncio.gather(*(producer() for _ in range(producers)))
            starts_done = time.perf_counter() - t0

        production = asyncio.create_task(produce_all())
        deadline = t0 + max(120.0, n / 10)
        completed = 0
        while completed < n:
            await asyncio.sleep(0.05)
            completed = await self.conn.fetchval(
                "SELECT count(*) FROM executions WHERE status = 'COMPLETED' AND created_at >= $1",
                since,
            )
            if time.perf_counter() > deadline or (production.done() and production.exception()):
                if production.done() and production.exception():
                    raise production.exception()  # type: ignore[misc]
                failed = await self.failed_since(since)
                raise TimeoutError(f"only {completed}/{n} executions completed ({failed} failed)")
        wall = time.perf_counter() - t0
        await production
        cpu1 = (
            cpu_seconds(self.worker_pids),
            time.process_time(),
            cpu_seconds(pg_pids),
            system_busy_seconds(),
            cpu_seconds(self.redis_pids),
        )
        span = await self.conn.fetchval(
            "SELECT extract(epoch FROM max(finished_at) - min(created_at)) FROM executions "
            "WHERE created_at >= $1",
            since,
        )
        return Throughput(
            n=n,
            wall_s=wall,
            starts_s=starts_done,
            executions_per_s=n / wall,
            steps_per_s=n * STEPS / wall,
            db_span_s=float(span) if span is not None else None,
            worker_cpu_s=cpu1[0] - cpu0[0],
            bench_cpu_s=cpu1[1] - cpu0[1],
            postgres_cpu_s=(cpu1[2] - cpu0[2]) if pg_pids else None,
            system_busy_s=cpu1[3] - cpu0[3],
            redis_cpu_s=(cpu1[4] - cpu0[4]) if self.redis_pids else None,
        )

    async def latency(self, count: int, poll_s: float) -> dict[str, Any]:
        client: list[float] = []
        start_calls: list[float] = []
        ids = []
        for i in range(count):
            t0 = time.perf_counter()
            result = await self.start(i)
            t1 = time.perf_counter()
            while True:
                status = await self.conn.fetchval(
                    "SELECT status FROM executions WHERE id = $1", result.execution_id
                )
                if status == "COMPLETED":
                    break
                if status not in ("PENDING", "RUNNING"):
                    raise RuntimeError(f"execution {result.execution_id} ended {status}")
                if time.perf_counter() - t0 > 30:
                    raise TimeoutError(f"execution {result.execution_id} still {status} after 30s")
                await asyncio.sleep(poll_s)
            client.append(time.perf_counter() - t0)
            start_calls.append(t1 - t0)
            ids.append(result.execution_id)
        db = await self.conn.fetch(
            "SELECT extract(epoch FROM finished_at - created_at)::float8 AS total, "
            "       extract(epoch FROM started_at - created_at)::float8 AS to_first_claim "
            "  FROM executions WHERE id = ANY($1::uuid[])",
            ids,
        )
        return {
            "n": count,
            "poll_interval_ms": poll_s * 1000,
            "client_start_to_completed_ms": summary_ms(client),
            "db_created_to_finished_ms": summary_ms([r["total"] for r in db]),
            "db_created_to_first_claim_ms": summary_ms([r["to_first_claim"] for r in db]),
            "start_execution_call_ms": summary_ms(start_calls),
        }

    def rss(self) -> dict[str, Any]:
        per_worker = [proc_status(pid) for pid in self.worker_pids]
        return {
            "worker_peak_rss_mb": [round(s.get("VmHWM", 0) / 2**20, 1) for s in per_worker],
            "worker_rss_now_mb": [round(s.get("VmRSS", 0) / 2**20, 1) for s in per_worker],
        }


# --- preload -----------------------------------------------------------------------------------

PRELOAD_SQL = [
    (
        "executions",
        """
        INSERT INTO executions (id, workflow_id, workflow_version_id, department_id, status,
                                inputs, created_by, created_at, started_at, finished_at, updated_at)
        SELECT md5('bench-x-' || g)::uuid, $2, $3, $4, 'COMPLETED',
               jsonb_build_object('n', g), NULL, t, t + interval '2 ms', t + interval '20 ms',
               t + interval '20 ms'
          FROM generate_series(1, $1::int) AS g,
               LATERAL (SELECT now() - interval '1 day' - make_interval(secs => ($1 - g) * 0.5)
                        AS t) AS ts
         ORDER BY 1
        """,
    ),
    (
        "execution_steps",
        """
        INSERT INTO execution_steps (id, execution_id, position, step_key, action, status,
                                     attempt, max_attempts, fencing_token, idempotency_key,
                                     output, started_at, finished_at, updated_at)
        SELECT md5('bench-s-' || g || ':' || p)::uuid, md5('bench-x-' || g)::uuid, p,
               chr(97 + p), 'echo', 'COMPLETED', 1, 1, 1,
               md5('bench-x-' || g)::uuid::text || ':' || chr(97 + p),
               jsonb_build_object('value', g::text), t, t + interval '3 ms', t + interval '3 ms'
          FROM generate_series(1, $1::int) AS g, generate_series(0, 4) AS p,
               LATERAL (SELECT now() - interval '1 day' - make_interval(secs => ($1 - g) * 0.5)
                               + make_interval(secs => p * 0.004) AS t) AS ts
         ORDER BY 1
        """,
    ),
    (
        "execution_step_attempts",
        """
        INSERT INTO execution_step_attempts (execution_step_id, attempt, fencing_token, worker,
                                             started_at, finished_at, outcome, output)
        SELECT md5('bench-s-' || g || ':' || p)::uuid, 1, 1, 'worker:preload', t,
               t + interval '3 ms', 'COMPLETED', jsonb_build_object('value', g::text)
          FROM generate_series(1, $1::int) AS g, generate_series(0, 4) AS p,
               LATERAL (SELECT now() - interval '1 day' - make_interval(secs => ($1 - g) * 0.5)
                               + make_interval(secs => p * 0.004) AS t) AS ts
        """,
    ),
]

# One audit row per event a real execution of this workflow writes (counted at run time from
# the warm-up executions), with the entity ids of the preloaded rows.
PRELOAD_AUDIT_SQL = """
INSERT INTO audit_logs (occurred_at, action, entity_type, entity_id, department_id, metadata)
SELECT now() - interval '1 day' - make_interval(secs => ($1 - g) * 0.5) + make_interval(secs => k * 0.001),
       ev.action, ev.entity_type,
       CASE WHEN ev.entity_type = 'execution' THEN md5('bench-x-' || g)::uuid::text
            ELSE md5('bench-s-' || g || ':' || ev.position)::uuid::text END,
       $2::uuid, ev.metadata
  FROM generate_series(1, $1::int) AS g,
       unnest($3::text[], $4::text[], $5::int[], $6::jsonb[]) WITH ORDINALITY
         AS ev(action, entity_type, position, metadata, k)
"""


async def audit_shape(conn, execution_id) -> list[tuple[str, str, int, str]]:  # type: ignore[no-untyped-def]
    """The audit rows one completed execution wrote: (action, entity_type, step position, metadata)."""
    rows = await conn.fetch(
        """
        SELECT a.action, a.entity_type, COALESCE(s.position, 0) AS position, a.metadata::text
          FROM audit_logs a
          LEFT JOIN execution_steps s ON a.entity_type = 'execution_step' AND s.id::text = a.entity_id
         WHERE a.entity_id = $1::uuid::text OR s.execution_id = $1::uuid
         ORDER BY a.id
        """,
        execution_id,
    )
    return [(r["action"], r["entity_type"], r["position"], r["metadata"]) for r in rows]


async def preload(conn, count: int, shape) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Insert ``count`` completed executions (steps, attempts, audit rows) with one
    ``INSERT ... SELECT generate_series`` per table, then VACUUM ANALYZE and CHECKPOINT."""
    wf = await conn.fetchrow(
        "SELECT id, current_version_id, department_id FROM workflows WHERE name = $1",
        WORKFLOW_NAME,
    )
    timings: dict[str, float] = {}
    await conn.execute("SET synchronous_commit = off")
    for table, sql in PRELOAD_SQL:
        t0 = time.perf_counter()
        status = (
            await conn.execute(sql, count, wf["id"], wf["current_version_id"], wf["department_id"])
            if table == "executions"
            else await conn.execute(sql, count)
        )
        timings[table] = round(time.perf_counter() - t0, 1)
        say(f"preload {table}: {status} in {timings[table]}s")
    t0 = time.perf_counter()
    status = await conn.execute(
        PRELOAD_AUDIT_SQL,
        count,
        wf["department_id"],
        [a for a, _, _, _ in shape],
        [e for _, e, _, _ in shape],
        [p for _, _, p, _ in shape],
        [m for _, _, _, m in shape],
    )
    timings["audit_logs"] = round(time.perf_counter() - t0, 1)
    say(f"preload audit_logs: {status} in {timings['audit_logs']}s")
    await conn.execute("SET synchronous_commit = on")
    t0 = time.perf_counter()
    for table in ("executions", "execution_steps", "execution_step_attempts", "audit_logs"):
        await conn.execute(f"VACUUM (ANALYZE) {table}")
    timings["vacuum_analyze"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    try:
        await conn.execute("CHECKPOINT")
        timings["checkpoint"] = round(time.perf_counter() - t0, 1)
    except Exception as exc:
        say(f"CHECKPOINT skipped: {exc}")
    sizes = await conn.fetch(
        "SELECT relname, n_live_tup, pg_size_pretty(pg_total_relation_size(relid)) AS size "
        "  FROM pg_stat_user_tables WHERE relname = ANY($1::text[]) ORDER BY relname",
        ["executions", "execution_steps", "execution_step_attempts", "audit_logs"],
    )
    return {
        "executions": count,
        "audit_rows_per_execution": len(shape),
        "seconds": timings,
        "tables": {r["relname"]: {"rows": r["n_live_tup"], "size": r["size"]} for r in sizes},
    }


# --- baseline ----------------------------------------------------------------------------------


async def run_baseline(
    args, urls, run_id: str, group: Children, redis_pid: int | None
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    import redis.asyncio as aioredis
    from taskiq.kicker import AsyncKicker

    queue = f"bench:{run_id}:baseline"
    counter = f"{queue}:done"
    client = aioredis.Redis.from_url(urls.redis_url)
    broker = baseline_broker(urls.redis_url, queue)
    await broker.startup()
    kicker: AsyncKicker[[str, int], None] = AsyncKicker(BASELINE_TASK, broker, {})
    workers = [
        group.start(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--baseline-worker",
                "--redis-url",
                urls.redis_url,
                "--queue",
                queue,
                "--concurrency",
                str(args.concurrency),
            ],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(args.workers)
    ]
    pids = [w.pid for w in workers]
    try:

        async def chains(count: int, prefix: str) -> None:
            numbers = iter(range(count))

            async def producer() -> None:
                for i in numbers:
                    await kicker.kiq(f"{prefix}{i}", 0)

            await asyncio.gather(*(producer() for _ in range(args.producers)))

        async def completed() -> int:
            return int(await client.get(counter) or 0)

        async def warm_up() -> None:
            await client.set(counter, 0)
            await chains(20, f"W{uuid.uuid4().hex[:6]}-")
            await wait_for(completed, lambda c: c >= 20, timeout=60, what="baseline warm-up")

        await until_all_consume(
            warm_up,
            lambda: consumers(client, queue, BASELINE_GROUP),
            args.workers,
            lambda: group.check_alive(workers),
        )
        await client.set(counter, 0)

        n = args.n
        redis_pids = [redis_pid] if redis_pid else []
        cpu0 = (
            cpu_seconds(pids),
            time.process_time(),
            system_busy_seconds(),
            cpu_seconds(redis_pids),
        )
        t0 = time.perf_counter()
        starts = {"s": 0.0}

        async def produce() -> None:
            await chains(n, "T")
            starts["s"] = time.perf_counter() - t0

        production = asyncio.create_task(produce())
        done = 0
        deadline = t0 + max(120.0, n / 10)
        while done < n:
            await asyncio.sleep(0.05)
            done = await completed()
            if time.perf_counter() > deadline:
                raise TimeoutError(f"baseline: only {done}/{n} chains completed")
        wall = time.perf_counter() - t0
        await production
        cpu1 = (
            cpu_seconds(pids),
            time.process_time(),
            system_busy_seconds(),
            cpu_seconds(redis_pids),
        )
        tp = Throughput(
            n=n,
            wall_s=wall,
            starts_s=starts["s"],
            executions_per_s=n / wall,
            steps_per_s=n * STEPS / wall,
            worker_cpu_s=cpu1[0] - cpu0[0],
            bench_cpu_s=cpu1[1] - cpu0[1],
            system_busy_s=cpu1[2] - cpu0[2],
            redis_cpu_s=(cpu1[3] - cpu0[3]) if redis_pids else None,
        )

        latencies = []
        for i in range(args.latency_n):
            t0 = time.perf_counter()
            await kicker.kiq(f"L{i}", 0)
            got = await client.blpop([f"{queue}:done:L{i}"], timeout=30)
            if got is None:
                raise TimeoutError(f"baseline latency chain L{i} did not complete")
            latencies.append(time.perf_counter() - t0)
        rss = [proc_status(pid) for pid in pids]
        return {
            "throughput": tp.as_dict(),
            "latency": {"n": args.latency_n, "client_kick_to_done_ms": summary_ms(latencies)},
            "worker_peak_rss_mb": [round(s.get("VmHWM", 0) / 2**20, 1) for s in rss],
        }
    finally:
        group.stop(workers)
        await broker.shutdown()
        keys = [k async for k in client.scan_iter(match=f"{queue}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


# --- the run -----------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> Report:
    import asyncpg
    import redis.asyncio as aioredis

    from govflow.adapters.db.migrations import migrate
    from govflow.adapters.services import ServiceUrls
    from govflow.bootstrap import container
    from govflow.settings import Mode, Settings
    from tests.support.engine import install_workflow, plugins_for_tests

    report = Report(
        args={k: v for k, v in vars(args).items() if k not in ("database_url", "redis_url")},
        machine=machine(),
    )
    run_id = uuid.uuid4().hex[:10]
    urls = servers(args.database_url, args.redis_url)
    report.servers["kind"] = urls.kind
    database = args.database or f"bench_{run_id}"
    admin = None
    try:
        admin = await asyncpg.connect(urls.database_url)
        report.servers["postgres"] = await admin.fetchval("SHOW server_version")
        report.servers["postgres_settings"] = {
            name: await admin.fetchval(f"SHOW {name}")
            for name in ("shared_buffers", "synchronous_commit", "fsync", "max_connections")
        }
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{database}"')
        database_url = with_database(urls.database_url, database)
        conn = await asyncpg.connect(database_url)
        try:
            await migrate(conn)
            await install_workflow(conn, WORKFLOW_YAML)
        finally:
            await conn.close()
        rclient = aioredis.Redis.from_url(urls.redis_url)
        info = await rclient.info("server")
        report.servers["redis"] = info["redis_version"]
        redis_pid = (
            int(info["process_id"]) if Path(f"/proc/{info['process_id']}").exists() else None
        )
        await rclient.aclose()
        say(f"{urls.kind} servers; database {database}")
        home = Path(urls.home or Path("/tmp") / f"gfb-{run_id}")
        queue = f"bench:{run_id}:steps"
        settings = Settings(
            mode=Mode.TEST,
            database_url=database_url,
            redis_url=urls.redis_url,
            jwt_secret=JWT_SECRET,
            queue_name=queue,
            govflow_home=home,
            db_pool_min=1,
            db_pool_max=args.producers + 2,
            _env_file=None,
        )
        os.environ["GOVFLOW_TEST_EFFECTS_DSN"] = database_url
        with children() as group:
            env = worker_env(database_url, urls.redis_url, queue, home, args.concurrency)
            workers = [
                group.start(
                    [
                        sys.executable,
                        "-m",
                        "govflow",
                        "worker",
                        "--concurrency",
                        str(args.concurrency),
                    ],
                    env,
                )
                for _ in range(args.workers)
            ]
            if args.scheduler:
                group.start([sys.executable, "-m", "govflow", "scheduler"], env)
            async with container(
                settings, ServiceUrls(database_url, urls.redis_url), plugins=plugins_for_tests()
            ) as services:
                poll = await asyncpg.connect(database_url)
                try:
                    bench = GovFlowBench(
                        services, poll, database, [w.pid for w in workers], args, redis_pid
                    )
                    say("warm-up until every worker has run steps")
                    await until_all_consume(
                        lambda: bench.warm_up(20),
                        lambda: consumers(services.redis, queue, GOVFLOW_GROUP),
                        args.workers,
                        lambda: group.check_alive(workers),
                    )
                    shape_of = await poll.fetchval(
                        "SELECT id FROM executions WHERE status = 'COMPLETED' LIMIT 1"
                    )
                    shape = await audit_shape(poll, shape_of)
                    report.govflow = await measure(bench, args, "empty tables")
                    if args.preload:
                        say(f"preloading {args.preload} completed executions")
                        report.preloaded["preload"] = await preload(poll, args.preload, shape)
                        await bench.warm_up(20)
                        report.preloaded.update(await measure(bench, args, "preloaded tables"))
                    group.check_alive(workers)
                finally:
                    await poll.close()
            group.stop(workers)
            group.stop()
            if not args.no_baseline:
                say("baseline: plain Taskiq chain")
                report.baseline = await run_baseline(args, urls, run_id, group, redis_pid)
        report.checks = checks(report)
        return report
    finally:
        if admin is not None:
            if not (args.keep_database or args.database):
                await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.close()
        try:
            rclient = aioredis.Redis.from_url(urls.redis_url)
            keys = [k async for k in rclient.scan_iter(match=f"bench:{run_id}:*")]
            if keys:
                await rclient.delete(*keys)
            await rclient.aclose()
        except Exception as exc:
            say(f"redis cleanup failed: {exc}")
        urls.stop()


async def measure(bench: GovFlowBench, args: argparse.Namespace, label: str) -> dict[str, Any]:
    results: dict[str, Any] = {"rounds": []}
    for r in range(args.rounds):
        say(f"[{label}] throughput round {r + 1}/{args.rounds}: {args.n} executions")
        tp = await bench.throughput(args.n, args.producers)
        say(f"[{label}]   {tp.executions_per_s:.1f} executions/s ({tp.steps_per_s:.0f} steps/s)")
        results["rounds"].append(tp.as_dict())
    # The headline is the median round (the machine may be shared); every round is listed.
    ranked = sorted(results["rounds"], key=lambda d: d["executions_per_s"])
    results["throughput"] = ranked[(len(ranked) - 1) // 2]
    say(f"[{label}] latency: {args.latency_n} sequential executions")
    results["latency"] = await bench.latency(args.latency_n, args.poll_ms / 1000)
    results.update(bench.rss())
    return results


def checks(report: Report) -> dict[str, Any]:
    g = report.govflow
    out: dict[str, Any] = {}
    eps = g["throughput"]["executions_per_s"]
    out["executions_per_s"] = (
        round(eps, 1),
        TARGETS["executions_per_s"],
        eps >= TARGETS["executions_per_s"],
    )
    sps = g["throughput"]["steps_per_s"]
    out["durable_steps_per_s"] = (
        round(sps),
        TARGETS["durable_steps_per_s"],
        sps >= TARGETS["durable_steps_per_s"],
    )
    if report.baseline:
        ratio = eps / report.baseline["throughput"]["executions_per_s"]
        out["ratio_to_baseline"] = (
            round(ratio, 2),
            TARGETS["ratio_to_baseline"],
            ratio >= TARGETS["ratio_to_baseline"],
        )
    lat = g["latency"]["client_start_to_completed_ms"]
    out["latency_p50_ms"] = (
        lat["p50"],
        TARGETS["latency_p50_ms"],
        lat["p50"] <= TARGETS["latency_p50_ms"],
    )
    out["latency_p99_ms"] = (
        lat["p99"],
        TARGETS["latency_p99_ms"],
        lat["p99"] <= TARGETS["latency_p99_ms"],
    )
    peak = max(g["worker_peak_rss_mb"] + report.preloaded.get("worker_peak_rss_mb", []))
    out["worker_peak_rss_mb"] = (
        peak,
        TARGETS["worker_peak_rss_mb"],
        peak <= TARGETS["worker_peak_rss_mb"],
    )
    if report.preloaded:
        kept = report.preloaded["throughput"]["executions_per_s"] / eps
        out["preload_retention"] = (
            round(kept, 2),
            TARGETS["preload_retention"],
            kept >= TARGETS["preload_retention"],
        )
    return out


def render(report: Report) -> str:
    lines = []
    m = report.machine
    lines.append(
        f"W5 benchmark: {m['nproc']} cores ({m['cpu']}), Python {m['python']}, "
        f"PostgreSQL {report.servers.get('postgres')}, Redis {report.servers.get('redis')} "
        f"({report.servers.get('kind')} servers)"
    )
    a = report.args
    lines.append(
        f"n={a['n']} latency_n={a['latency_n']} workers={a['workers']} "
        f"concurrency={a['concurrency']} producers={a['producers']} rounds={a['rounds']} "
        f"scheduler={'on' if a['scheduler'] else 'off'} loadavg at start={' '.join(m['loadavg_at_start'])}"
    )
    lines.append("")

    def block(title: str, res: dict[str, Any]) -> None:
        tp = res["throughput"]
        lat = res["latency"]
        lines.append(title)
        for i, rnd in enumerate(res["rounds"]):
            lines.append(
                f"  round {i + 1}: {rnd['executions_per_s']:.1f} executions/s, "
                f"{rnd['steps_per_s']:.0f} durable steps/s (wall {rnd['wall_s']:.2f}s, "
                f"starts took {rnd['starts_s']:.2f}s, cores busy {rnd['cores_busy']}, "
                f"of which other processes {rnd['other_cores_busy']})"
            )
        lines.append(f"  executions/s           {tp['executions_per_s']:.1f}")
        lines.append(f"  durable steps/s        {tp['steps_per_s']:.0f}")
        lines.append(
            f"  CPU per execution      workers {tp['worker_cpu_ms_per_execution']} ms, "
            f"postgres {tp.get('postgres_cpu_ms_per_execution', '?')} ms, "
            f"redis {tp.get('redis_cpu_ms_per_execution', '?')} ms, "
            f"bench (starts) {tp['bench_cpu_ms_per_execution']} ms"
        )
        c = lat["client_start_to_completed_ms"]
        d = lat["db_created_to_finished_ms"]
        s = lat["start_execution_call_ms"]
        lines.append(
            f"  latency (client)       p50 {c['p50']} ms  p99 {c['p99']} ms  max {c['max']} ms "
            f"(poll every {lat['poll_interval_ms']:g} ms)"
        )
        lines.append(
            f"  latency (db)           p50 {d['p50']} ms  p99 {d['p99']} ms  max {d['max']} ms "
            f"(finished_at - created_at)"
        )
        lines.append(f"  start_execution call   p50 {s['p50']} ms  p99 {s['p99']} ms")
        lines.append(
            f"  worker peak RSS        {', '.join(f'{v} MB' for v in res['worker_peak_rss_mb'])}"
        )
        lines.append("")

    block("GovFlow (empty tables)", report.govflow)
    if report.preloaded:
        p = report.preloaded["preload"]
        block(
            f"GovFlow ({p['executions']:,} completed executions preloaded; "
            f"preload took {sum(p['seconds'].values()):.0f}s)",
            report.preloaded,
        )
    if report.baseline:
        b = report.baseline
        tp = b["throughput"]
        lines.append("Baseline: plain Taskiq chain of 5 no-op tasks (no database)")
        lines.append(
            f"  executions/s           {tp['executions_per_s']:.1f} "
            f"(wall {tp['wall_s']:.2f}s, kicks took {tp['starts_s']:.2f}s, cores busy {tp['cores_busy']}, "
            f"of which other processes {tp['other_cores_busy']})"
        )
        lines.append(f"  task hops/s            {tp['steps_per_s']:.0f}")
        lines.append(
            f"  CPU per chain          workers {tp['worker_cpu_ms_per_execution']} ms, "
            f"redis {tp.get('redis_cpu_ms_per_execution', '?')} ms, "
            f"bench (kicks) {tp['bench_cpu_ms_per_execution']} ms"
        )
        c = b["latency"]["client_kick_to_done_ms"]
        lines.append(
            f"  latency (client)       p50 {c['p50']} ms  p99 {c['p99']} ms  max {c['max']} ms"
        )
        lines.append(
            f"  worker peak RSS        {', '.join(f'{v} MB' for v in b['worker_peak_rss_mb'])}"
        )
        lines.append("")
    lines.append("Targets")
    for name, (value, target, ok) in report.checks.items():
        op = "<=" if name.endswith(("_ms", "_mb")) else ">="
        lines.append(
            f"  {name:<22} {value!s:>8}  (target {op} {target})  {'ok' if ok else 'MISSED'}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--database-url",
        default=os.environ.get("GOVFLOW_BENCH_DATABASE_URL"),
        help="PostgreSQL server (a bench_* database is created and dropped); default "
        "$GOVFLOW_BENCH_DATABASE_URL, else an embedded server in a temp dir",
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("GOVFLOW_BENCH_REDIS_URL"),
        help="Redis server; default $GOVFLOW_BENCH_REDIS_URL, else embedded",
    )
    p.add_argument("-n", type=int, default=1000, help="executions in the throughput phase")
    p.add_argument("--latency-n", type=int, default=100, help="sequential executions timed")
    p.add_argument("--workers", type=int, default=2, help="worker processes (both sides)")
    p.add_argument(
        "--concurrency",
        type=int,
        default=10,
        help="steps (tasks) each worker runs at once (WORKER_CONCURRENCY default)",
    )
    p.add_argument(
        "--producers",
        type=int,
        default=4,
        help="concurrent start_execution callers in the bench process",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="throughput rounds per phase (the median is reported, all are listed)",
    )
    p.add_argument(
        "--preload",
        type=int,
        default=0,
        metavar="N",
        help="also measure after inserting N completed executions",
    )
    p.add_argument("--poll-ms", type=float, default=1.0, help="latency polling interval")
    p.add_argument("--scheduler", action="store_true", help="run `govflow scheduler` as well")
    p.add_argument("--no-baseline", action="store_true", help="skip the plain Taskiq chain")
    p.add_argument("--keep-database", action="store_true", help="do not drop the bench database")
    p.add_argument(
        "--database",
        metavar="NAME",
        help="run in this database (created if missing) and keep it: a database preloaded by "
        "one run (--preload) is measured again by later ones without loading it again",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--render",
        metavar="JSON_FILE",
        help="print the table of a result saved earlier with --json, and exit",
    )
    p.add_argument("--baseline-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--queue", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.baseline_worker:
        asyncio.run(baseline_worker(args.redis_url, args.queue, args.concurrency))
        return 0
    if args.render:
        print(render(Report(**json.loads(Path(args.render).read_text()))))
        return 0
    report = asyncio.run(run(args))
    if args.json:
        print(json.dumps(report.__dict__, indent=2, default=str))
    else:
        print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
