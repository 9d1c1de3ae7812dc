#!/usr/bin/env python
"""What a start costs the database, with and without group commit (starts in rounds).

For each number of concurrent callers (``--callers``, 4 and 16) and each writer (one statement
per start, ``START_ROUND_MAX_ROWS=1``; rounds, the default settings), a fresh database gets the
W5 workflow (bench/w5.py) and ``-n`` starts through ``Container.start_execution`` (the use case
the API calls) from one process; wake-ups are dropped (no workers run). The figures come from
``pg_stat_statements`` (the server must load it: ``shared_preload_libraries``), reset after a
warm-up and a ``CHECKPOINT``: the statements that create executions (their calls, and the
rounds the writer sent) and all top-level statements of the run, each as shared blocks
(hit + read, dirtied, written) and WAL (records, full-page images, bytes) per start. These
counts do not depend on the machine's speed; the number of rounds does depend on timing.

Usage (see bench/README.md)::

    GOVFLOW_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5498/postgres \\
    GOVFLOW_BENCH_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/starts.py -n 1000

Results go to stdout (a table, or JSON with ``--json``); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import say, servers, with_database
from w5 import JWT_SECRET, WORKFLOW_NAME, WORKFLOW_YAML

COUNTERS = (
    "calls",
    "blocks",
    "dirtied",
    "written",
    "wal_records",
    "wal_fpi",
    "wal_bytes",
)
STATS = """
SELECT (query LIKE '%INSERT INTO executions%') AS creates,
       sum(calls) AS calls,
       sum(shared_blks_hit + shared_blks_read) AS blocks,
       sum(shared_blks_dirtied) AS dirtied,
       sum(shared_blks_written) AS written,
       sum(wal_records) AS wal_records,
       sum(wal_fpi) AS wal_fpi,
       sum(wal_bytes) AS wal_bytes
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1) AND toplevel
 GROUP BY 1
"""


COMMITS = "SELECT xact_commit FROM pg_stat_database WHERE datname = $1"


async def sessions_ended(admin: Any, database: str) -> None:
    """Wait (30 s at most) for the sessions of ``database`` to end."""
    for _ in range(3000):
        if not await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database
        ):
            return
        await asyncio.sleep(0.01)
    raise RuntimeError(f"sessions of {database} still open")


class DroppedWakeUps:
    async def wake(self, step_ids: Sequence[uuid.UUID]) -> None:
        return None


async def one_run(
    admin: Any, base_url: str, redis_url: str, callers: int, rounds: bool, n: int, warm: int
) -> dict[str, Any]:
    import asyncpg

    from govflow.adapters.db.migrations import migrate
    from govflow.adapters.db.start_rounds import RoundStartWriter
    from govflow.adapters.services import ServiceUrls
    from govflow.bootstrap import container
    from govflow.settings import Mode, Settings
    from govflow.usecases.start_execution import StartRequest
    from tests.support.engine import install_workflow, plugins_for_tests

    database = f"bench_starts_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{database}"')
    try:
        database_url = with_database(base_url, database)
        conn = await asyncpg.connect(database_url)
        try:
            await migrate(conn)
            await install_workflow(conn, WORKFLOW_YAML)
        finally:
            await conn.close()
        settings = Settings(
            mode=Mode.TEST,
            database_url=database_url,
            redis_url=redis_url,
            jwt_secret=JWT_SECRET,
            queue_name=f"bench:{database}:steps",
            govflow_home=Path("/tmp") / database,
            db_pool_min=1,
            db_pool_max=callers + 2,
            start_round_max_rows=64 if rounds else 1,
            _env_file=None,  # type: ignore[call-arg]
        )

        async def starts(count: int) -> int:
            """``count`` starts from ``callers`` concurrent callers; the rounds sent."""
            async with container(
                settings, ServiceUrls(database_url, redis_url), plugins=plugins_for_tests()
            ) as services:
                services.queue = DroppedWakeUps()  # type: ignore[assignment]
                numbers = iter(range(count))

                async def caller() -> None:
                    for i in numbers:
                        await services.start_execution(
                            StartRequest(workflow=WORKFLOW_NAME, inputs={"n": i})
                        )

                await asyncio.gather(*(caller() for _ in range(callers)))
                writer = services.executions
                sent = writer.rounds.rounds if isinstance(writer, RoundStartWriter) else count
            await sessions_ended(admin, database)  # their statistics are flushed as they end
            return sent

        await starts(warm)
        await admin.execute("CHECKPOINT")
        await admin.execute("SELECT pg_stat_statements_reset()")
        await admin.execute("SELECT pg_stat_reset_shared('wal')")
        commits = await admin.fetchval(COMMITS, database)
        sent = await starts(n)
        rows = await admin.fetch(STATS, database)
        wal = await admin.fetchrow("SELECT wal_write, wal_sync FROM pg_stat_wal")
        commits = await admin.fetchval(COMMITS, database) - commits
        totals = dict.fromkeys(COUNTERS, 0)
        creates = dict.fromkeys(COUNTERS, 0)
        for row in rows:
            for k in COUNTERS:
                totals[k] += int(row[k] or 0)
                if row["creates"]:
                    creates[k] += int(row[k] or 0)
        return {
            "callers": callers,
            "writer": "rounds" if rounds else "one per start",
            "starts": n,
            "rounds": sent,
            "create": creates,
            "all": totals,
            "commits": commits,
            "wal_writes": wal["wal_write"],
            "wal_flushes": wal["wal_sync"],
        }
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def render(results: list[dict[str, Any]]) -> str:
    head = (
        "| callers | writer | starts | create calls | rounds | blocks/start | dirtied/start "
        "| written/start | WAL records/start | WAL FPI/start | WAL bytes/start |"
    )
    lines = [head, "|" + "---|" * 11]
    for scope in ("create", "all"):
        lines.append(f"| **{scope} statements** |" + " |" * 10)
        for r in results:
            c, n = r[scope], r["starts"]
            lines.append(
                f"| {r['callers']} | {r['writer']} | {n} | {c['calls']} | {r['rounds']} | "
                + " | ".join(
                    f"{c[k] / n:.1f}"
                    for k in ("blocks", "dirtied", "written", "wal_records", "wal_fpi")
                )
                + f" | {c['wal_bytes'] / n:.0f} |"
            )
    lines += [
        "",
        "| callers | writer | commits/start | WAL writes/start | WAL flushes/start |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        n = r["starts"]
        lines.append(
            f"| {r['callers']} | {r['writer']} | {r['commits'] / n:.2f} | "
            f"{r['wal_writes'] / n:.2f} | {r['wal_flushes'] / n:.2f} |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    import asyncpg

    urls = servers(args.database_url, args.redis_url)
    admin = await asyncpg.connect(urls.database_url)
    try:
        loaded = await admin.fetchval("SHOW shared_preload_libraries")
        if "pg_stat_statements" not in loaded:
            raise SystemExit("the server does not load pg_stat_statements")
        await admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        results = []
        for callers in args.callers:
            for rounds in (False, True):
                say(f"{callers} callers, {'rounds' if rounds else 'one statement per start'}")
                results.append(
                    await one_run(
                        admin, urls.database_url, urls.redis_url, callers, rounds, args.n, args.warm
                    )
                )
        return results
    finally:
        await admin.close()
        urls.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=1000, help="starts measured per run (1000)")
    parser.add_argument("--warm", type=int, default=50, help="starts before the reset (50)")
    parser.add_argument("--callers", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--database-url", default=os.environ.get("GOVFLOW_BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("GOVFLOW_BENCH_REDIS_URL"))
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = asyncio.run(run(args))
    print(json.dumps(results, indent=2) if args.json else render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
