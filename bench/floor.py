#!/usr/bin/env python
"""The physical floor: how many durable commits this machine's PostgreSQL makes per second.

Prints, in one run against one server:

* (a) single-row ``INSERT`` commits per second through asyncpg (each statement its own
  transaction, ``synchronous_commit = on``) from 1 connection and from 10 concurrent ones;
* (b) the same with 10 rows per commit (one statement inserting 10 rows: what group commit
  would reach at best);
* (c) ``pgbench -i -s 1`` then ``pgbench -c 10 -j 2 -T 10 -N`` (TPS), when ``pgbench`` is
  installed.

Each figure comes with its ratio to (a) from 1 connection, this run's baseline. The rows go to
a throwaway table of a ``bench_<id>`` database that is dropped at the end. Uses
``GOVFLOW_BENCH_DATABASE_URL`` (or ``--database-url``) like ``bench/w5.py``, else an embedded
server. Wall-clock figures: meaningful only on a quiet machine.

Usage (see bench/README.md)::

    .venv/bin/python bench/floor.py [--seconds 10] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, say, servers, with_database

TABLE = """
CREATE TABLE floor_rows (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    n integer NOT NULL,
    payload text NOT NULL
)
"""
ONE_ROW = "INSERT INTO floor_rows (n, payload) VALUES ($1, $2)"
ROWS = "INSERT INTO floor_rows (n, payload) SELECT * FROM unnest($1::integer[], $2::text[])"
PAYLOAD = "x" * 64
TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


@dataclass
class Figure:
    label: str
    connections: int
    rows_per_commit: int
    commits_per_s: float
    rows_per_s: float
    ratio: float = 0.0
    """commits/s relative to (a) from 1 connection."""
    rows_ratio: float = 0.0
    """rows/s relative to (a) from 1 connection."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per asyncpg figure (10)")
    parser.add_argument("--pgbench-seconds", type=int, default=10, help="pgbench -T (10)")
    parser.add_argument("--no-pgbench", action="store_true", help="skip (c)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--database-url", default=os.environ.get("GOVFLOW_BENCH_DATABASE_URL"))
    return parser.parse_args(argv)


async def commits(database_url: str, connections: int, rows: int, seconds: float) -> Figure:
    """Commits of ``rows`` rows each from ``connections`` connections for ``seconds``."""
    import asyncpg

    settings = {"synchronous_commit": "on", "application_name": "bench-floor"}
    conns = [
        await asyncpg.connect(database_url, server_settings=settings) for _ in range(connections)
    ]
    try:
        ns = list(range(rows))
        payloads = [PAYLOAD] * rows
        for conn in conns:  # statements prepared, one commit each, before the clock runs
            await (
                conn.execute(ONE_ROW, 0, PAYLOAD) if rows == 1 else conn.execute(ROWS, ns, payloads)
            )
        counts = [0] * connections
        deadline = time.monotonic() + seconds

        async def run(index: int) -> None:
            conn = conns[index]
            while time.monotonic() < deadline:
                if rows == 1:
                    await conn.execute(ONE_ROW, index, PAYLOAD)
                else:
                    await conn.execute(ROWS, ns, payloads)
                counts[index] += 1

        started = time.monotonic()
        await asyncio.gather(*(run(i) for i in range(connections)))
        elapsed = time.monotonic() - started
    finally:
        for conn in conns:
            await conn.close()
    done = sum(counts)
    return Figure(
        label=f"({'a' if rows == 1 else 'b'}) {connections} connection"
        f"{'s' if connections > 1 else ''}, {rows} row{'s' if rows > 1 else ''} per commit",
        connections=connections,
        rows_per_commit=rows,
        commits_per_s=done / elapsed,
        rows_per_s=done * rows / elapsed,
    )


def pgbench(database_url: str, seconds: int) -> Figure | None:
    """``pgbench -i -s 1`` then ``pgbench -c 10 -j 2 -T <seconds> -N``: its TPS."""
    binary = shutil.which("pgbench")
    if binary is None:
        say("pgbench is not installed: (c) left out")
        return None
    env = {**os.environ, "PGOPTIONS": "-c synchronous_commit=on"}
    subprocess.run(
        [binary, "-i", "-s", "1", "-q", database_url], check=True, capture_output=True, env=env
    )
    run = subprocess.run(
        [binary, "-c", "10", "-j", "2", "-T", str(seconds), "-N", database_url],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    found = TPS.search(run.stdout)
    if found is None:
        raise RuntimeError(f"no TPS in pgbench's output:\n{run.stdout}")
    tps = float(found.group(1))
    return Figure(
        label="(c) pgbench -c 10 -j 2 -N (3 statements per commit)",
        connections=10,
        rows_per_commit=1,
        commits_per_s=tps,
        rows_per_s=tps,
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg

    urls = servers(args.database_url, "no redis")  # PostgreSQL only: embedded when not given
    database = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(urls.database_url)
    kind = "configured" if args.database_url else "embedded"
    report: dict[str, Any] = {"machine": machine(), "servers": {"kind": kind}}
    try:
        report["servers"]["postgres"] = await admin.fetchval("SHOW server_version")
        report["servers"]["settings"] = {
            name: await admin.fetchval(f"SHOW {name}")
            for name in ("fsync", "wal_sync_method", "commit_delay", "shared_buffers")
        }
        await admin.execute(f'CREATE DATABASE "{database}"')
        database_url = with_database(urls.database_url, database)
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(TABLE)
        finally:
            await conn.close()
        figures: list[Figure] = []
        for connections, rows in ((1, 1), (10, 1), (1, 10), (10, 10)):
            say(f"{connections} connection(s), {rows} row(s) per commit, {args.seconds:g}s")
            figures.append(await commits(database_url, connections, rows, args.seconds))
        if not args.no_pgbench:
            say(f"pgbench, {args.pgbench_seconds}s")
            bench = pgbench(database_url, args.pgbench_seconds)
            if bench is not None:
                figures.append(bench)
        baseline = figures[0].commits_per_s
        for figure in figures:
            figure.ratio = figure.commits_per_s / baseline
            figure.rows_ratio = figure.rows_per_s / baseline
        report["figures"] = [asdict(f) for f in figures]
        report["args"] = {"seconds": args.seconds, "pgbench_seconds": args.pgbench_seconds}
        return report
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
        urls.stop()


def render(report: dict[str, Any]) -> str:
    m, s = report["machine"], report["servers"]
    lines = [
        f"Physical floor: {m['nproc']} cores ({m['cpu']}), load average at start "
        f"{' '.join(m['loadavg_at_start'])}; PostgreSQL {s['postgres']} ({s['kind']}), "
        + ", ".join(f"{k}={v}" for k, v in s["settings"].items())
        + ", synchronous_commit=on",
        "",
        "| figure | commits/s | rows/s | commits/s ÷ (a) 1 conn | rows/s ÷ (a) 1 conn |",
        "|---|---:|---:|---:|---:|",
    ]
    for f in report["figures"]:
        lines.append(
            f"| {f['label']} | {f['commits_per_s']:.0f} | {f['rows_per_s']:.0f} "
            f"| {f['ratio']:.2f} | {f['rows_ratio']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
