#!/usr/bin/env python
"""Where a worker's CPU goes per W5 execution: the step loop driven in-process, profiled.

Starts ``--n`` executions of W5 (five sequential ``echo`` steps, ``bench/w5.py``'s workflow)
through ``Container.start_execution`` with their wake-ups kept in memory, then runs each one's
steps with the worker's own ``StepRunner`` (``equipped_runner``, step metrics as a worker without
``WORKER_METRICS_PORT`` takes them unless ``--metrics-port`` is given, logging configured as a
worker's at ``LOG_LEVEL=WARNING``: ``govflow worker`` as ``bench/w5.py`` starts it) against real
PostgreSQL, one execution after another. Only the runner is measured: starting the executions is not, nor the Taskiq receiver
(one message per execution) that hands a worker the first step.

* ``--profile cprofile`` (default): Python function calls per execution (cProfile's count: it
  does not depend on the machine's load) and the top functions by own time and by calls.
* ``--profile callgrind``: run under ``valgrind --tool=callgrind``; the counters are zeroed
  (``callgrind_control -z``) just before the measured executions and dumped
  (``callgrind_control -d``) just after them, so the dump's total is their instructions alone;
  the script prints it per execution.
* ``--profile none``: no profiler (for timing from outside).

``--warm-up`` executions run first, unmeasured (specs read, statements prepared, caches filled).
Uses ``GOVFLOW_BENCH_DATABASE_URL`` (a ``bench_<id>`` database is created and dropped) or an
embedded server; Redis (``GOVFLOW_BENCH_REDIS_URL`` or embedded) is only connected to.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import say, servers, with_database
from w5 import JWT_SECRET, WORKFLOW_NAME, WORKFLOW_YAML


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="measured executions (200)")
    parser.add_argument("--warm-up", type=int, default=20, help="unmeasured executions first")
    parser.add_argument("--profile", choices=("cprofile", "callgrind", "none"), default="cprofile")
    parser.add_argument("--top", type=int, default=25, help="functions listed per ordering")
    parser.add_argument("--dump", help="also write the cProfile stats to this file")
    parser.add_argument(
        "--metrics-port",
        type=int,
        help="measure as a worker with this WORKER_METRICS_PORT (nothing is served)",
    )
    parser.add_argument("--database-url", default=os.environ.get("GOVFLOW_BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("GOVFLOW_BENCH_REDIS_URL"))
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    import asyncpg

    from govflow.adapters.db.migrations import migrate
    from govflow.adapters.logs import configure_logging
    from govflow.adapters.services import ServiceUrls
    from govflow.bootstrap import container
    from govflow.bootstrap.fleet import equipped_runner
    from govflow.settings import Mode, Settings
    from govflow.usecases.start_execution import StartRequest
    from tests.support.engine import CollectingQueue, install_workflow, plugins_for_tests

    configure_logging("WARNING", "json")
    urls = servers(args.database_url, args.redis_url)
    database = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(urls.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
        database_url = with_database(urls.database_url, database)
        conn = await asyncpg.connect(database_url)
        try:
            await migrate(conn)
            await install_workflow(conn, WORKFLOW_YAML)
        finally:
            await conn.close()
        settings = Settings(
            mode=Mode.TEST,
            database_url=database_url,
            redis_url=urls.redis_url,
            jwt_secret=JWT_SECRET,
            queue_name=f"bench:{database}:steps",
            govflow_home=Path(urls.home or "/tmp") / database,
            db_pool_min=1,
            db_pool_max=4,
            _env_file=None,  # type: ignore[call-arg]
        )
        os.environ["GOVFLOW_TEST_EFFECTS_DSN"] = database_url
        async with container(
            settings, ServiceUrls(database_url, urls.redis_url), plugins=plugins_for_tests()
        ) as services:
            services.queue = CollectingQueue()  # type: ignore[assignment]
            runner = equipped_runner(services)
            runner.queue = services.queue
            try:  # as `govflow worker` sets it, where it does
                from govflow.adapters.metrics import worker_step_metrics
            except ImportError:  # a tree from before it: the worker's step metrics were kept
                pass
            else:
                runner.metrics = worker_step_metrics(args.metrics_port)

            async def starts(count: int) -> list[Any]:
                return [
                    (
                        await services.start_execution(
                            StartRequest(workflow=WORKFLOW_NAME, inputs={"n": i})
                        )
                    ).first_step_id
                    for i in range(count)
                ]

            for step_id in await starts(args.warm_up):
                await runner.run(step_id)
            first_steps = await starts(args.n)
            say(f"running {args.n} executions")
            profiler = cProfile.Profile() if args.profile == "cprofile" else None
            if args.profile == "callgrind":
                await callgrind_control("-z")
            if profiler is not None:
                profiler.enable()
            for step_id in first_steps:
                await runner.run(step_id)
            if profiler is not None:
                profiler.disable()
            if args.profile == "callgrind":
                await callgrind_control("-d")
            async with services.db.pool.acquire() as conn:
                done = await conn.fetchval(
                    "SELECT count(*) FROM executions WHERE status = 'COMPLETED'"
                )
            if done != args.warm_up + args.n:
                raise RuntimeError(f"{done} executions completed, not {args.warm_up + args.n}")
            if profiler is not None:
                report(profiler, args)
            if args.profile == "callgrind":
                total = callgrind_total(os.getpid())
                print(f"executions: {args.n} (5 steps each), after {args.warm_up} unmeasured")
                print(f"instructions per execution: {total / args.n:.0f}")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
        urls.stop()


async def callgrind_control(option: str) -> None:
    """``callgrind_control <option>`` on this process, the event loop left running meanwhile
    (callgrind answers only while the process runs)."""
    process = await asyncio.create_subprocess_exec(
        "callgrind_control", option, str(os.getpid()), stdout=asyncio.subprocess.DEVNULL
    )
    if await process.wait() != 0:
        raise RuntimeError(f"callgrind_control {option} failed (is this run under callgrind?)")


def callgrind_total(pid: int) -> int:
    """Instructions in the last dump this process made (``callgrind.out.<pid>.<n>``)."""
    dumps = sorted(Path.cwd().glob(f"callgrind.out.{pid}.*"), key=lambda p: p.stat().st_mtime)
    for line in dumps[-1].read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no total in {dumps[-1]}")


def report(profiler: cProfile.Profile, args: argparse.Namespace) -> None:
    if args.dump:
        profiler.dump_stats(args.dump)
    stats = pstats.Stats(profiler)
    calls = stats.total_calls  # type: ignore[attr-defined]
    primitive = stats.prim_calls  # type: ignore[attr-defined]
    print(f"executions: {args.n} (5 steps each), after {args.warm_up} unmeasured")
    print(
        f"function calls per execution: {calls / args.n:.1f} ({primitive / args.n:.1f} primitive)"
    )
    print(f"function calls per step: {calls / args.n / 5:.1f}")
    for order in ("tottime", "ncalls"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
        print(f"\ntop {args.top} by {order}:")
        print(out.getvalue().split("\n\n", 1)[-1].rstrip())


def main() -> None:
    asyncio.run(run(parse_args()))


if __name__ == "__main__":
    main()
