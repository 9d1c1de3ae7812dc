"""Triggers through the real processes: two ``govflow scheduler`` processes firing a
second-level schedule start one execution per slot, and a restart after both stopped (one
killed) loses no slot; the README's webhook delivery (bash, openssl, curl) against a real
``govflow api`` starts its execution."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from govflow.settings import Settings
from tests.support.api_server import ApiServer
from tests.support.doc_examples import blocks
from tests.support.engine import ROOT, eventually, install_workflow, processes

pytestmark = pytest.mark.e2e

EVERY_SECOND = """
name: every-second
title: Every second
department: general-administration
triggers:
  schedule: {cron: "* * * * * *", catch_up: all}
steps:
  - {id: log, action: notification, with: {channel: log, message: tick}}
"""


async def _slots(conn: asyncpg.Connection) -> list[datetime]:
    rows = await conn.fetch(
        "SELECT idempotency_key FROM executions WHERE idempotency_key LIKE 'schedule:%'"
    )
    return sorted(datetime.fromisoformat(r[0].split(":", 2)[2]) for r in rows)


def _no_gap(slots: list[datetime]) -> bool:
    return all(b - a == timedelta(seconds=1) for a, b in itertools.pairwise(slots))


async def test_two_schedulers_fire_each_slot_once_and_a_restart_loses_none(
    settings: Settings,
) -> None:
    conn = await asyncpg.connect(str(settings.database_url))
    try:
        await install_workflow(conn, EVERY_SECOND)
        with processes(settings) as group:
            first, second = group.start("scheduler"), group.start("scheduler")
            before = await eventually(lambda: _slots(conn), lambda s: len(s) >= 5, timeout=60)
            first.send_signal(signal.SIGKILL)
            second.send_signal(signal.SIGTERM)
            for process in (first, second):
                await asyncio.to_thread(process.wait, 15)
            stopped = await _slots(conn)
            assert len(stopped) >= len(before)
            # Slots pass while no scheduler runs ...
            await eventually(
                lambda: asyncio.sleep(0, datetime.now(UTC)),
                lambda now: now > stopped[-1] + timedelta(seconds=3),
            )
            group.start("scheduler")  # ... and a new one starts the executions they missed.
            restarted = datetime.now(UTC).replace(microsecond=0)
            await eventually(
                lambda: _slots(conn), lambda s: s[-1] >= restarted + timedelta(seconds=2)
            )
        after = await _slots(conn)  # every scheduler has stopped: nothing fires any more
        assert after[0] == before[0]
        assert _no_gap(after), after
        count = await conn.fetchval(
            "SELECT count(*) FROM executions e JOIN workflows w ON w.id = e.workflow_id "
            "WHERE w.name = 'every-second'"
        )
        assert count == len(after)
        fired = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE action = 'TRIGGER_SCHEDULE_FIRED'"
        )
        assert fired >= len(after) - 1  # a killed scheduler may die between creating and audit
    finally:
        await conn.close()


def _readme_delivery() -> tuple[str, str]:
    """The README's webhook block and the secret it exports."""
    (block,) = [b for b in blocks(ROOT / "README.md") if "openssl dgst" in b.text]
    secret = re.search(r"export GOVFLOW_SECRET_PORTAL_HOOK=(\S+)", block.text)
    assert secret is not None
    return block.text, secret.group(1)


async def test_the_readme_webhook_delivery_starts_permit_intake(
    settings: Settings, tmp_path: Path
) -> None:
    script, secret = _readme_delivery()
    conn = await asyncpg.connect(str(settings.database_url))
    try:
        await install_workflow(conn, (ROOT / "workflows.d" / "permit-intake.yaml").read_text())
        async with ApiServer(settings, GOVFLOW_SECRET_PORTAL_HOOK=secret) as server:
            sent = script.replace("http://127.0.0.1:8000", server.url)

            def run() -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", sent],
                    cwd=tmp_path,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )

            result = await asyncio.to_thread(run)
            assert result.returncode == 0, result.stderr
            answer = json.loads(result.stdout)
            assert answer["message"] == "Execution started", answer
            again = await asyncio.to_thread(run)  # another delivery id: another execution
            assert json.loads(again.stdout)["data"]["delivery_id"] != answer["data"]["delivery_id"]
        rows = await conn.fetch(
            "SELECT id, inputs::text AS inputs, created_by FROM executions ORDER BY created_at"
        )
        assert [json.loads(r["inputs"]) for r in rows] == [
            {"permit_id": "P-12", "applicant": "Ada Lovelace"}
        ] * 2
        assert str(rows[0]["id"]) == answer["data"]["execution_id"]
        assert {r["created_by"] for r in rows} == {None}
    finally:
        await conn.close()
