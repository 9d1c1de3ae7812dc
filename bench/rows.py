#!/usr/bin/env python
"""What each row of a W5 execution costs PostgreSQL: statements, blocks and WAL per execution.

Runs ``-n`` executions of W5 (bench/w5.py's five ``echo`` steps) through real
``python -m govflow worker`` processes and prints, per execution: each statement's calls, shared
blocks hit/dirtied/written and WAL records/bytes (``pg_stat_statements``); the rows each table
got, the blocks read from each table and index and each index's scans (the statistics views);
and the WAL bytes, block references and distinct blocks of each table and index
(``pg_walinspect``, if the server has it). See bench/pgcost.py for how each figure is read.

The server must load ``pg_stat_statements`` (``shared_preload_libraries``); the script creates a
``bench_<id>`` database, the extensions in it, and drops it at the end. Autovacuum is switched
off for the database's tables, so that no vacuum writes into the measured range.

The measured range holds one whole phase: workers started, ``-n`` executions started one after
another (the ``start_execution`` use case, as the API calls it), the queue drained, the starting
process and the workers stopped; the second snapshot is taken once every other backend of the
database has exited (and so has flushed its statistics). A warm-up phase before it runs
``--warm-up`` executions the same way (the tables' first pages, the queue's consumer group).
Worker start-up and shut-down statements are inside the range; they are listed with their
calls, which show they are not per execution.

Usage (see bench/README.md)::

    GOVFLOW_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5497/postgres \\
    GOVFLOW_BENCH_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/rows.py -n 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pgcost
import w5
from common import children, machine, say, servers, wait_for, with_database

HOT_TABLES = ("executions", "execution_steps", "execution_step_attempts", "audit_logs")


async def drained(redis_client, stream: str) -> bool:  # type: ignore[no-untyped-def]
    """Every message of ``stream`` delivered to the workers' group and acknowledged."""
    groups = {g["name"].decode(): g for g in await redis_client.xinfo_groups(stream)}
    group = groups.get(w5.GOVFLOW_GROUP)
    if group is None:
        return False
    info = await redis_client.xinfo_stream(stream)
    return bool(group["pending"] == 0 and group["last-delivered-id"] == info["last-generated-id"])


async def backends_gone(conn, database: str) -> bool:  # type: ignore[no-untyped-def]
    others = await conn.fetchval(
        "/* bench-pgcost */ SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )
    return int(others) == 0


async def phase(  # type: ignore[no-untyped-def]
    args, urls, database_url: str, database: str, queue: str, home: Path, conn, n: int
) -> None:
    """Workers up, ``n`` executions started one after another, the queue drained, everything
    that connected to the database stopped and gone."""
    import redis.asyncio as aioredis

    from govflow.adapters.services import ServiceUrls
    from govflow.bootstrap import container
    from govflow.settings import Mode, Settings
    from govflow.usecases.start_execution import StartRequest
    from tests.support.engine import plugins_for_tests

    settings = Settings(
        mode=Mode.TEST,
        database_url=database_url,
        redis_url=urls.redis_url,
        jwt_secret=w5.JWT_SECRET,
        queue_name=queue,
        govflow_home=home,
        db_pool_min=1,
        db_pool_max=2,
        _env_file=None,  # type: ignore[call-arg]
    )
    env = w5.worker_env(database_url, urls.redis_url, queue, home, args.concurrency)
    rclient = aioredis.Redis.from_url(urls.redis_url)
    try:
        with children() as group:
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
            async with container(
                settings, ServiceUrls(database_url, urls.redis_url), plugins=plugins_for_tests()
            ) as services:
                for i in range(n):
                    await services.start_execution(
                        StartRequest(workflow=w5.WORKFLOW_NAME, inputs={"n": i})
                    )

                async def queue_drained() -> bool:
                    group.check_alive(workers)
                    return await drained(rclient, queue)

                await wait_for(
                    queue_drained, bool, timeout=max(60.0, n / 5), what="the queue drained"
                )
            group.stop(workers)
    finally:
        await rclient.aclose()
    await wait_for(
        lambda: backends_gone(conn, database), bool, timeout=60, what="the backends gone"
    )


async def completed_count(conn) -> int:  # type: ignore[no-untyped-def]
    return int(
        await conn.fetchval(
            "/* bench-pgcost */ SELECT count(*) FROM executions WHERE status = 'COMPLETED'"
        )
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg

    from govflow.adapters.db.migrations import migrate
    from tests.support.engine import install_workflow

    run_id = uuid.uuid4().hex[:10]
    urls = servers(args.database_url, args.redis_url)
    database = f"bench_{run_id}"
    queue = f"bench:{run_id}:steps"
    home = Path(urls.home or Path("/tmp") / f"gfb-{run_id}")
    report: dict[str, Any] = {
        "args": {k: v for k, v in vars(args).items() if k not in ("database_url", "redis_url")},
        "machine": machine(),
    }
    admin = await asyncpg.connect(urls.database_url)
    try:
        preload = await admin.fetchval("SHOW shared_preload_libraries")
        if "pg_stat_statements" not in preload:
            raise SystemExit("the server must load pg_stat_statements (shared_preload_libraries)")
        report["postgres"] = await admin.fetchval("SHOW server_version")
        await admin.execute(f'CREATE DATABASE "{database}"')
        database_url = with_database(urls.database_url, database)
        conn = await asyncpg.connect(database_url)
        try:
            await migrate(conn)
            await install_workflow(conn, w5.WORKFLOW_YAML)
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            try:
                await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
            except asyncpg.PostgresError as exc:
                say(f"no pg_walinspect ({exc}): WAL by relation left out")
            for table in await conn.fetch("SELECT relname FROM pg_stat_user_tables"):
                await conn.execute(
                    f'ALTER TABLE "{table["relname"]}" SET (autovacuum_enabled = false)'
                )
            report["indexes"] = {
                r["indexname"]: r["indexdef"]
                for r in await conn.fetch(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1) "
                    "ORDER BY tablename, indexname",
                    list(HOT_TABLES),
                )
            }
            say(f"database {database}: warm-up, {args.warm_up} executions")
            await phase(args, urls, database_url, database, queue, home, conn, args.warm_up)
            await conn.execute("/* bench-pgcost */ SELECT pg_stat_force_next_flush()")
            await pgcost.reset_statements(conn)
            before = await pgcost.snapshot(conn)
            say(f"measured phase: {args.n} executions")
            t0 = time.perf_counter()
            await phase(args, urls, database_url, database, queue, home, conn, args.n)
            report["wall_s"] = round(time.perf_counter() - t0, 2)
            after = await pgcost.snapshot(conn, flushed=True)
            cost = await pgcost.cost(conn, before, after)
            done = await completed_count(conn)
            if done != args.warm_up + args.n:
                raise RuntimeError(f"{done} of {args.warm_up + args.n} executions completed")
            report["cost"] = asdict(cost)
        finally:
            await conn.close()
        return report
    finally:
        if not args.keep_database:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
        urls.stop()


# --- the table ---------------------------------------------------------------------------------


def per(value: float, n: int) -> str:
    x = value / n
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.2f}".rstrip("0").rstrip(".")


def render(report: dict[str, Any]) -> str:
    n = report["args"]["n"]
    cost = report["cost"]
    lines = [
        f"W5 rows: per execution, mean of {n} executions (PostgreSQL {report['postgres']}, "
        f"{report['args']['workers']} worker(s) x concurrency {report['args']['concurrency']})",
        "",
    ]
    stmts = cost["statements"]
    total = {c: sum(s[c] for s in stmts if not s["nested"]) for c in pgcost.COUNTERS}
    lines.append(
        f"Statements (pg_stat_statements): {per(total['calls'], n)} calls, "
        f"{per(total['shared_blks_hit'], n)} blocks hit, {per(total['shared_blks_read'], n)} read, "
        f"{per(total['shared_blks_dirtied'], n)} dirtied, {per(total['shared_blks_written'], n)} "
        f"written, {per(total['wal_records'], n)} WAL records, {per(total['wal_fpi'], n)} FPI, "
        f"{per(total['wal_bytes'], n)} WAL bytes"
    )
    head = f"  {'statement':<44} {'calls':>6} {'rows':>6} {'hit':>6} {'dirtied':>7} {'written':>7} {'WAL rec':>7} {'WAL B':>7}"
    lines.append(head)
    for s in stmts:
        label = ("  in: " + s["statement"]) if s["nested"] else s["statement"]
        lines.append(
            f"  {label[:44]:<44} {per(s['calls'], n):>6} {per(s['rows'], n):>6} "
            f"{per(s['shared_blks_hit'], n):>6} {per(s['shared_blks_dirtied'], n):>7} "
            f"{per(s['shared_blks_written'], n):>7} {per(s['wal_records'], n):>7} "
            f"{per(s['wal_bytes'], n):>7}"
        )
    lines.append("")
    lines.append("Tables (pg_stat_user_tables, pg_statio_user_tables): rows and blocks read")
    lines.append(
        f"  {'table':<26} {'ins':>6} {'upd':>6} {'HOT':>6} {'del':>6} {'heap blks':>9} {'idx blks':>9}"
    )
    for name, t in sorted(cost["tables"].items()):
        lines.append(
            f"  {name:<26} {per(t['n_tup_ins'], n):>6} {per(t['n_tup_upd'], n):>6} "
            f"{per(t['n_tup_hot_upd'], n):>6} {per(t['n_tup_del'], n):>6} "
            f"{per(t['heap_blks'], n):>9} {per(t['idx_blks'], n):>9}"
        )
    lines.append("")
    wal = cost["wal"]
    lines.append(
        "Indexes of the hot tables: WAL (pg_walinspect), blocks read and scans (statistics views)"
    )
    lines.append(
        f"  {'index':<42} {'WAL rec':>7} {'WAL B':>7} {'refs':>6} {'blocks':>6} {'read':>6} {'scans':>6}"
    )
    for name, ix in sorted(cost["indexes"].items(), key=lambda kv: (kv[1]["table"], kv[0])):
        if ix["table"] not in HOT_TABLES:
            continue
        w = wal.get(name, {})
        lines.append(
            f"  {name:<42} {per(w.get('records', 0), n):>7} {per(w.get('bytes', 0), n):>7} "
            f"{per(w.get('block_refs', 0), n):>6} {per(w.get('blocks', 0), n):>6} "
            f"{per(ix['idx_blks'], n):>6} {per(ix['idx_scan'], n):>6}"
        )
    if cost["wal_available"]:
        lines.append("")
        all_bytes = sum(w["bytes"] for w in wal.values())
        lines.append(
            f"WAL by relation (pg_walinspect; a record's bytes go to its first block's relation): "
            f"{per(all_bytes, n)} bytes, "
            f"{per(sum(w['records'] for w in wal.values()), n)} records per execution"
        )
        lines.append(
            f"  {'relation':<42} {'records':>7} {'bytes':>7} {'FPI B':>7} {'refs':>6} {'blocks':>6}"
        )
        for name, w in wal.items():
            lines.append(
                f"  {name[:42]:<42} {per(w['records'], n):>7} {per(w['bytes'], n):>7} "
                f"{per(w['fpi_bytes'], n):>7} {per(w['block_refs'], n):>6} {per(w['blocks'], n):>6}"
            )
        lines.append("")
        lines.append("WAL record types of the hot tables and their indexes (records x bytes each)")
        for name, w in wal.items():
            table = cost["indexes"].get(name, {}).get("table", name)
            if table not in HOT_TABLES:
                continue
            kinds = ", ".join(
                f"{kind} {per(count, n)} x {size / count:.0f}"
                for kind, (count, size) in w["types"].items()
            )
            lines.append(f"  {name}: {kinds}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--database-url",
        default=os.environ.get("GOVFLOW_BENCH_DATABASE_URL"),
        help="PostgreSQL server loading pg_stat_statements (a bench_* database is created and "
        "dropped); default $GOVFLOW_BENCH_DATABASE_URL",
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("GOVFLOW_BENCH_REDIS_URL"),
        help="Redis server; default $GOVFLOW_BENCH_REDIS_URL, else embedded",
    )
    p.add_argument("-n", type=int, default=200, help="executions in the measured phase")
    p.add_argument("--warm-up", type=int, default=20, help="executions before the measured phase")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--concurrency", type=int, default=1, help="steps each worker runs at once")
    p.add_argument("--keep-database", action="store_true", help="do not drop the bench database")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--render", metavar="JSON_FILE", help="print the table of a saved --json result")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        print(render(json.loads(Path(args.render).read_text())))
        return 0
    if not args.database_url:
        raise SystemExit("give --database-url (a server loading pg_stat_statements)")
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=2, default=str) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
