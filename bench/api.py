"""API latency at a fixed offered load, through a real uvicorn server.

Starts ``python -m govflow api`` against a fresh, migrated bench database (servers from
``GOVFLOW_BENCH_DATABASE_URL`` / ``GOVFLOW_BENCH_REDIS_URL``, else embedded ones), loads a
one-step workflow, logs in through ``POST /auth/login``, starts one execution, opens a page of
standalone tasks and stores one submitted task per approval to send, then offers each endpoint
a fixed rate with an open-loop httpx generator on loopback (a request is sent at its scheduled
time whether or not earlier ones have answered; latency counts from the scheduled time, so
queueing inside the server is not hidden). ``GET /health`` is the in-run baseline.

    .venv/bin/python bench/api.py --rate 500 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Children, percentile, say, servers, with_database

PASSWORD = "Bench-password-9-ok"  # noqa: S105 - a throwaway account of a scratch database
EMAIL = "bench.admin@govflow.local"
LISTED_TASKS = 20
"""Standalone tasks opened before ``GET /tasks`` is measured (one full default page)."""
WORKFLOW = """name: bench-hello
title: Bench hello
department: general-administration
inputs:
  who: {type: string, default: world}
steps:
  - id: greet
    action: notification
    with: {channel: log, message: "Hello, {{ inputs.who }}!"}
"""


@dataclass
class Result:
    label: str
    offered: float
    achieved: float
    p50: float
    p99: float
    errors: int
    count: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def submitted_tasks(database_url: str, count: int) -> list[str]:
    """``count`` standalone tasks submitted by an OPERATOR and reviewed by managers, each
    approved once by the bench ADMIN (an approval decides a task only once)."""
    from govflow.core.statuses import HumanTaskStatus

    conn = await asyncpg.connect(database_url)
    try:
        submitter = await conn.fetchval(
            "INSERT INTO users (email, full_name, password_hash, role) "
            "VALUES ('bench.operator@govflow.local', 'Bench Operator', 'x', 'OPERATOR') "
            "RETURNING id"
        )
        rows = await conn.fetch(
            "INSERT INTO human_tasks (title, status, reviewer_role, submitted_by, submitted_at, "
            "submission, assignee_id) "
            "SELECT 'bench approval ' || n, $1, 'MANAGER', $2, now(), '{}'::jsonb, $2 "
            "FROM generate_series(1, $3) AS n RETURNING id",
            HumanTaskStatus.SUBMITTED.value,
            submitter,
            count,
        )
    finally:
        await conn.close()
    return [str(row["id"]) for row in rows]


async def prepare(database_url: str) -> None:
    """Migrate and seed the bench database; one ADMIN and the bench workflow."""
    from govflow.adapters.db.migrations import migrate
    from govflow.adapters.db.seed import seed_departments
    from govflow.adapters.db.workflows import PgWorkflowStore
    from govflow.adapters.security.passwords import Passwords
    from govflow.core.validation import validate_workflow
    from govflow.plugins.manager import PluginManager
    from govflow.usecases.audit import SYSTEM

    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn)
        await seed_departments(conn)
        await conn.execute(
            "INSERT INTO users (email, full_name, password_hash, role) "
            "VALUES ($1, 'Bench Admin', $2, 'ADMIN')",
            EMAIL,
            await Passwords().hash(PASSWORD),
        )
        actions = PluginManager.from_env(os.environ).actions().inputs()
        spec = validate_workflow(WORKFLOW, "bench.yaml", actions)
        await PgWorkflowStore(conn).save(spec, WORKFLOW, "bench.yaml", SYSTEM)
    finally:
        await conn.close()


class RawPool:
    """Keep-alive HTTP/1.1 connections speaking just enough HTTP for the benchmark; far cheaper
    per request than a general client, so the generator is not the bottleneck on loopback."""

    def __init__(self, port: int, size: int) -> None:
        self._port = port
        self._size = size
        self._free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def open(self) -> None:
        for _ in range(self._size):
            self._free.put_nowait(await asyncio.open_connection("127.0.0.1", self._port))

    async def close(self) -> None:
        while not self._free.empty():
            _, writer = self._free.get_nowait()
            writer.close()

    async def request(self, raw: bytes) -> int:
        """Send ``raw`` (a full request) and read the answer; its status code."""
        reader, writer = await self._free.get()
        try:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
        finally:
            self._free.put_nowait((reader, writer))
        return status


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def open_loop(
    pool: RawPool,
    label: str,
    request: dict[str, Any],
    rate: float,
    seconds: float,
    expect: int,
) -> Result:
    """Send ``rate`` requests per second for ``seconds``, each at its scheduled instant."""
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    run_id = uuid.uuid4().hex[:8]
    fixed = raw_request(
        request["method"], request["url"], request.get("headers", {}), request.get("body", b"")
    )
    urls: list[str] | None = request.get("urls")
    unexpected: Counter[int] = Counter()

    async def one(i: int, scheduled: float) -> None:
        nonlocal errors
        raw = fixed
        if request.get("unique_key"):
            headers = {**request["headers"], "Idempotency-Key": f"b-{run_id}-{i}"}
            raw = raw_request(request["method"], request["url"], headers, request["body"])
        if urls is not None:
            raw = raw_request(request["method"], urls.pop(), request["headers"], request["body"])
        try:
            status = await pool.request(raw)
            if status != expect:
                errors += 1
                unexpected[status] += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
        latencies.append((loop.time() - scheduled) * 1000)

    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    if unexpected:
        say(f"{label}: unexpected answers {dict(unexpected)}")
    return Result(
        label=label,
        offered=rate,
        achieved=total / elapsed,
        p50=percentile(latencies, 50),
        p99=percentile(latencies, 99),
        errors=errors,
        count=total,
    )


async def wait_healthy(base: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the API did not become healthy")


async def run(args: argparse.Namespace) -> list[Result]:
    found = servers(
        os.environ.get("GOVFLOW_BENCH_DATABASE_URL"), os.environ.get("GOVFLOW_BENCH_REDIS_URL")
    )
    name = f"gfbench_api_{os.getpid()}"
    admin = await asyncpg.connect(found.database_url)
    procs = Children()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        database_url = with_database(found.database_url, name)
        await prepare(database_url)
        approvals = int(args.rate * (1.0 + args.seconds)) + 1
        to_approve = [
            f"/tasks/{task}/approve" for task in await submitted_tasks(database_url, approvals)
        ]
        port = free_port()
        env = {
            **os.environ,
            "GOVFLOW_MODE": "development",
            "DATABASE_URL": database_url,
            "REDIS_URL": found.redis_url,
            "QUEUE_NAME": f"gfbench{os.getpid()}:steps",
            "JWT_SECRET": uuid.uuid4().hex * 2,
            "PORT": str(port),
            "GOVFLOW_HOME": str(Path("/tmp") / name),
            "LOG_LEVEL": args.log_level,
            # The bench offers one client's load on purpose: measure the server, not the limit.
            "RATE_LIMIT_GLOBAL": "0",
            "RATE_LIMIT_PER_CLIENT": "0",
        }
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
            [sys.executable, "-m", "govflow", "api"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.running.append(server)
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base)
        limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            login = await client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
            token = login.json()["data"]["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            workflows = (await client.get("/workflows", headers=auth)).json()["data"]
            workflow_id = workflows[0]["id"]
            start_url = f"/workflows/{workflow_id}/executions"
            started = await client.post(start_url, json={"inputs": {}}, headers=auth)
            execution_id = started.json()["data"]["execution_id"]
            for n in range(LISTED_TASKS):
                opened = await client.post("/tasks", json={"title": f"bench {n}"}, headers=auth)
                opened.raise_for_status()
            pool = RawPool(port, args.connections)
            await pool.open()
            cases: list[tuple[str, dict[str, Any], int]] = [
                ("GET /health", {"method": "GET", "url": "/health"}, 200),
                (
                    "GET /workflow-executions/{id}",
                    {
                        "method": "GET",
                        "url": f"/workflow-executions/{execution_id}",
                        "headers": auth,
                    },
                    200,
                ),
                (
                    "POST /workflows/{id}/executions",
                    {
                        "method": "POST",
                        "url": start_url,
                        "body": b'{"inputs": {"who": "bench"}}',
                        "headers": auth,
                        "unique_key": True,
                    },
                    201,
                ),
                ("GET /tasks", {"method": "GET", "url": "/tasks", "headers": auth}, 200),
                (
                    "POST /tasks/{id}/approve",
                    {
                        "method": "POST",
                        "url": to_approve[0],
                        "urls": to_approve,
                        "body": b'{"comment": "bench"}',
                        "headers": auth,
                    },
                    200,
                ),
            ]
            results = []
            for label, request, expect in cases:
                say(f"warm-up {label}")
                await open_loop(pool, label, request, args.rate, 1.0, expect)
                say(f"measuring {label} at {args.rate:.0f} req/s for {args.seconds:.0f} s")
                results.append(
                    await open_loop(pool, label, request, args.rate, args.seconds, expect)
                )
            await pool.close()
        return results
    finally:
        procs.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        found.stop()


def table(results: list[Result]) -> str:
    base = results[0]
    lines = [
        "| endpoint | offered req/s | achieved req/s | p50 ms | p99 ms | p50 / health | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| `{r.label}` | {r.offered:.0f} | {r.achieved:.0f} | {r.p50:.2f} | {r.p99:.2f} "
            f"| {r.p50 / base.p50:.1f}x | {r.errors}/{r.count} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0, help="offered requests per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per case")
    parser.add_argument("--connections", type=int, default=64, help="client connection cap")
    parser.add_argument("--log-level", default="INFO", help="the server's LOG_LEVEL")
    args = parser.parse_args()
    print(table(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
