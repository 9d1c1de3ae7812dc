"""A one-row lookup by primary key: Piccolo's query builder against hand-written SQL on asyncpg.

Both run on the same pool of the same :class:`~govflow.adapters.db.engine.Database` (role
``govflow_app``), one query at a time, against a fresh migrated ``bench_pic_<id>`` database
(``GOVFLOW_BENCH_DATABASE_URL``, else an embedded PostgreSQL). The lookup is the users adapter's
``get``: nine columns of one row. Rounds alternate the two so that drift hits both; the figures
are the medians over rounds of each round's median per query, wall time and this process's CPU
time, and the ratio Piccolo / asyncpg. Building the Piccolo query alone (no database) is timed
too: it is the part of the difference that is pure Python.

    .venv/bin/python bench/piccolo_vs_asyncpg.py --n 5000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import say, servers, with_database
from govflow.adapters.db.engine import Database
from govflow.adapters.db.migrations import migrate
from govflow.adapters.db.tables import User

COLUMNS = (
    User.id,
    User.email,
    User.full_name,
    User.role,
    User.department_id,
    User.is_active,
    User.last_login_at,
    User.created_at,
    User.updated_at,
)
SQL = (
    "SELECT id, email, full_name, role, department_id, is_active, last_login_at, created_at, "
    "updated_at FROM users WHERE id = $1"
)


def piccolo_query(user_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return User.select(*COLUMNS).where(User.id == user_id)


async def timed(n: int, call: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Median wall time per call (µs) and mean CPU time per call (µs) over ``n`` calls."""
    walls = []
    cpu_start = time.process_time()
    for _ in range(n):
        started = time.perf_counter()
        await call()
        walls.append(time.perf_counter() - started)
    cpu = (time.process_time() - cpu_start) / n
    return statistics.median(walls) * 1e6, cpu * 1e6


async def build_only(n: int, user_id: uuid.UUID) -> float:
    """Mean time (µs) to build the Piccolo query and compile it to SQL and arguments."""
    started = time.perf_counter()
    for _ in range(n):
        query = piccolo_query(user_id)
        for querystring in query.querystrings:
            querystring.compile_string(engine_type="postgres")
    return (time.perf_counter() - started) / n * 1e6


async def bench(database_url: str, n: int, rounds: int) -> None:
    user_id = uuid.uuid4()
    owner = await asyncpg.connect(database_url)
    try:
        await migrate(owner)
        await owner.execute(
            "INSERT INTO users (id, email, full_name, password_hash, role) "
            "VALUES ($1, 'bench@govflow.local', 'Bench', 'x', 'ADMIN')",
            user_id,
        )
    finally:
        await owner.close()
    db = Database(database_url, min_size=1, max_size=1, application_name="bench")
    await db.start()
    try:

        async def via_piccolo() -> object:
            rows = await db.run(piccolo_query(user_id))
            assert rows[0]["id"] == user_id
            return rows[0]

        async def via_asyncpg() -> object:
            row = await db.pool.fetchrow(SQL, user_id)
            assert row is not None
            assert row["id"] == user_id
            return row

        await timed(500, via_piccolo)
        await timed(500, via_asyncpg)
        results: dict[str, list[tuple[float, float]]] = {"piccolo": [], "asyncpg": []}
        for index in range(rounds):
            order = [("piccolo", via_piccolo), ("asyncpg", via_asyncpg)]
            for name, call in order if index % 2 == 0 else reversed(order):
                results[name].append(await timed(n, call))
            say(f"round {index + 1}/{rounds} done")
        building = statistics.median([await build_only(n, user_id) for _ in range(rounds)])
    finally:
        await db.close()

    def median(name: str, part: int) -> float:
        return statistics.median(result[part] for result in results[name])

    print(f"one-row lookup by id, {n} sequential queries x {rounds} rounds, one pooled connection")
    print(f"{'':<28}{'wall µs/query':>14}{'CPU µs/query':>14}")
    for name in ("asyncpg", "piccolo"):
        label = "asyncpg, hand-written SQL" if name == "asyncpg" else "Piccolo query builder"
        print(f"{label:<28}{median(name, 0):>14.1f}{median(name, 1):>14.1f}")
    wall_ratio = median("piccolo", 0) / median("asyncpg", 0)
    cpu_ratio = median("piccolo", 1) / median("asyncpg", 1)
    print(f"{'ratio Piccolo / asyncpg':<28}{wall_ratio:>14.2f}{cpu_ratio:>14.2f}")
    print(f"building + compiling the Piccolo query alone: {building:.1f} µs")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="queries per round and kind")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("GOVFLOW_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    found = servers(args.database_url, "redis://unused")  # PostgreSQL only
    name = f"bench_pic_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(found.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            await bench(with_database(found.database_url, name), args.n, args.rounds)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
        found.stop()


if __name__ == "__main__":
    asyncio.run(main())
