"""Server time of the console's page for an execution of 50 steps, through a real uvicorn server.

Starts ``python -m govflow api`` and one ``python -m govflow worker`` against a fresh, migrated
bench database (servers from ``GOVFLOW_BENCH_DATABASE_URL`` / ``GOVFLOW_BENCH_REDIS_URL``, else
embedded ones), runs a workflow of 50 ``notification`` steps to COMPLETED, signs in to the console
as an ADMIN (CSRF token and session cookie, as a browser does), then requests, one at a time,
``GET /health`` (the in-run baseline), the execution's page ``/ui/executions/<id>``, its live
fragment and the API's ``GET /workflow-executions/<id>``.

Each request is timed twice: by the server's access log (``duration_ms``, from the request's
arrival to the last byte of the answer: the server time) and by the client on loopback. The
ratio to ``GET /health`` in the same run makes runs on a busy or a quiet machine comparable.

    .venv/bin/python bench/console.py --requests 200
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
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Children, machine, say, servers, summary_ms, with_database
from govflow.core.roles import Role
from govflow.core.statuses import ExecutionStatus

PASSWORD = "Bench-password-9-ok"  # noqa: S105 - a throwaway account of a scratch database
EMAIL = "bench.admin@govflow.local"
STEPS = 50
ACCESS = re.compile(r"duration_ms=([0-9.]+) method=GET path=(\S+)")


def workflow(steps: int) -> str:
    lines = [
        "name: bench-fifty",
        "title: Bench, fifty steps",
        "department: general-administration",
        "steps:",
    ]
    for n in range(steps):
        lines += [
            f"  - id: step_{n:02d}",
            "    action: notification",
            f'    with: {{channel: log, message: "step {n}"}}',
        ]
    return "\n".join(lines) + "\n"


async def prepare(database_url: str, steps: int) -> None:
    """Migrate and seed the bench database; one ADMIN and the 50-step workflow."""
    from govflow.adapters.db.migrations import migrate
    from govflow.adapters.db.seed import seed_departments
    from govflow.adapters.db.workflows import PgWorkflowStore
    from govflow.adapters.security.passwords import Passwords
    from govflow.core.validation import validate_workflow
    from govflow.plugins.manager import PluginManager
    from govflow.usecases.audit import SYSTEM

    text = workflow(steps)
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn)
        await seed_departments(conn)
        await conn.execute(
            "INSERT INTO users (email, full_name, password_hash, role) "
            "VALUES ($1, 'Bench Admin', $2, $3)",
            EMAIL,
            await Passwords().hash(PASSWORD),
            Role.ADMIN.value,
        )
        actions = PluginManager.from_env(os.environ).actions().inputs()
        spec = validate_workflow(text, "bench.yaml", actions)
        await PgWorkflowStore(conn).save(spec, text, "bench.yaml", SYSTEM)
    finally:
        await conn.close()


async def wait_healthy(client: httpx.AsyncClient, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the API did not become healthy")


async def sign_in(client: httpx.AsyncClient) -> None:
    """The console's sign-in as a browser does it: the form's CSRF token, then the post."""
    page = await client.get("/ui/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = await client.post(
        "/ui/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}
    )
    if answer.status_code != 303:
        raise RuntimeError(f"console sign-in refused: {answer.status_code}")


async def completed_execution(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    started = await client.post(
        "/workflows/bench-fifty/executions", json={"inputs": {}}, headers=auth
    )
    started.raise_for_status()
    execution_id: str = started.json()["data"]["execution_id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        view = await client.get(f"/workflow-executions/{execution_id}", headers=auth)
        if view.json()["data"]["status"] == ExecutionStatus.COMPLETED.value:
            return execution_id
        await asyncio.sleep(0.2)
    raise RuntimeError("the 50-step execution did not complete within 120 s")


async def measure(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], count: int
) -> list[float]:
    for _ in range(5):  # warm-up: templates compiled, connections pooled
        (await client.get(path, headers=headers)).raise_for_status()
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        answer = await client.get(path, headers=headers)
        seconds.append(time.perf_counter() - started)
        answer.raise_for_status()
    return seconds


def server_times(log: Path, path: str, count: int) -> list[float]:
    """The last ``count`` access-log durations of ``GET path``, in seconds (a request to the
    console's mount may be logged by its path inside the mount: ``/executions/<id>/``)."""
    inside = path.removeprefix("/ui").rstrip("/") + "/"
    found = [
        float(m.group(1)) / 1000
        for m in ACCESS.finditer(log.read_text(errors="replace"))
        if m.group(2) in (path, inside)
    ]
    return found[-count:]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    found = servers(
        os.environ.get("GOVFLOW_BENCH_DATABASE_URL"), os.environ.get("GOVFLOW_BENCH_REDIS_URL")
    )
    name = f"gfbench_console_{os.getpid()}"
    admin = await asyncpg.connect(found.database_url)
    procs = Children()
    home = Path("/tmp") / name
    home.mkdir(exist_ok=True)
    log = home / "api.log"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        database_url = with_database(found.database_url, name)
        await prepare(database_url, args.steps)
        port = args.port
        env = {
            **os.environ,
            "GOVFLOW_MODE": "development",
            "DATABASE_URL": database_url,
            "REDIS_URL": found.redis_url,
            "QUEUE_NAME": f"gfbench{os.getpid()}:steps",
            "JWT_SECRET": uuid.uuid4().hex * 2,
            "PORT": str(port),
            "GOVFLOW_HOME": str(home),
            "LOG_LEVEL": "INFO",
            "RATE_LIMIT_GLOBAL": "0",
            "RATE_LIMIT_PER_CLIENT": "0",
        }
        with log.open("wb") as out:
            server = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
                [sys.executable, "-m", "govflow", "api"], env=env, stdout=out, stderr=out
            )
        procs.running.append(server)
        worker = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
            [sys.executable, "-m", "govflow", "worker"],
            env={**env, "LOG_LEVEL": "WARNING"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.running.append(worker)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await wait_healthy(client)
            login = await client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
            auth = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
            say(f"running a {args.steps}-step execution")
            execution_id = await completed_execution(client, auth)
            procs.stop([worker])
            await sign_in(client)
            cases = [
                ("GET /health (baseline)", "/health", {}),
                (f"console page, {args.steps} steps", f"/ui/executions/{execution_id}", {}),
                ("console live fragment", f"/ui/executions/{execution_id}/live", {}),
                ("API GET /workflow-executions/{id}", f"/workflow-executions/{execution_id}", auth),
            ]
            results: dict[str, Any] = {}
            for label, path, headers in cases:
                say(f"measuring {label}")
                client_s = await measure(client, path, headers, args.requests)
                await asyncio.sleep(0.5)  # the access log line is written after the answer
                results[label] = {
                    "server_ms": summary_ms(server_times(log, path, args.requests)),
                    "client_ms": summary_ms(client_s),
                }
            page = await client.get(f"/ui/executions/{execution_id}")
            steps_shown = page.text.count('class="step status-completed"')
        baseline = results["GET /health (baseline)"]["server_ms"]["p50"]
        for entry in results.values():
            p50 = entry["server_ms"].get("p50")
            entry["ratio_to_health_p50"] = round(p50 / baseline, 1) if p50 and baseline else None
        return {
            "steps": args.steps,
            "steps_shown_completed": steps_shown,
            "requests": args.requests,
            "servers": found.kind,
            "machine": machine(),
            "results": results,
        }
    finally:
        procs.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        found.stop()
        shutil.rmtree(home, ignore_errors=True)


def table(report: dict[str, Any]) -> str:
    lines = [
        f"{report['steps']}-step execution ({report['steps_shown_completed']} steps shown "
        f"COMPLETED), {report['requests']} sequential requests each, {report['servers']} servers",
        "",
        "| request | server p50 / p90 / p99 ms | client p50 / p99 ms | server p50 / health |",
        "|---|---|---|---|",
    ]
    for label, entry in report["results"].items():
        s, c = entry["server_ms"], entry["client_ms"]
        lines.append(
            f"| {label} | {s.get('p50')} / {s.get('p90')} / {s.get('p99')} "
            f"| {c['p50']} / {c['p99']} | {entry['ratio_to_health_p50']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per case")
    parser.add_argument("--steps", type=int, default=STEPS, help="steps of the execution")
    parser.add_argument("--port", type=int, default=18731, help="the API's loopback port")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=2) if args.json else table(report))


if __name__ == "__main__":
    main()
