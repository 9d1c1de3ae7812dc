"""``govflow up`` migrates as the embedded cluster's superuser but runs the API, worker and
scheduler as a plain login acting as ``govflow_app``; the scheduler anchors the audit seals."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest

from govflow.adapters.db.roles import APP_ROLE, EMBEDDED_LOGIN
from tests.e2e.test_up import free_port, home, start_up, stop, wait_ready

pytestmark = pytest.mark.e2e

__all__ = ["home"]  # the fixture, shared with test_up


async def _sessions(home: Path) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(f"postgresql://postgres:@/postgres?host={home / 'postgres'}")
    try:
        return await conn.fetch(
            "SELECT DISTINCT a.application_name, a.usename, r.rolsuper, "
            "pg_has_role(a.usesysid, $1, 'MEMBER') AS member "
            "FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid "
            "WHERE a.application_name LIKE 'govflow%' ORDER BY 1",
            APP_ROLE,
        )
    finally:
        await conn.close()


def test_up_runs_its_processes_as_a_plain_login_of_the_application_role(home: Path) -> None:
    port = free_port()
    process = start_up(home, port)
    try:
        wait_ready(port, process)
        deadline = time.monotonic() + 60
        sessions: list[asyncpg.Record] = []
        while time.monotonic() < deadline:
            sessions = asyncio.run(_sessions(home))
            names = {row["application_name"] for row in sessions}
            if {"govflow", "govflow-worker", "govflow-scheduler"} <= names and (
                home / "audit-anchor.jsonl"
            ).exists():
                break
            time.sleep(0.2)
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert {row["application_name"] for row in sessions} >= {
        "govflow",
        "govflow-worker",
        "govflow-scheduler",
    }
    assert {(row["usename"], row["rolsuper"], row["member"]) for row in sessions} == {
        (EMBEDDED_LOGIN, False, True)
    }
    assert (home / "audit-anchor.jsonl").exists()
    assert len((home / "audit_seal_key").read_text().strip()) >= 32
    assert (home / "db_password").stat().st_mode & 0o077 == 0
