"""A secret read by ``secret('NAME')`` reaches the action in a real worker and is stored
nowhere: not in any table of GovFlow's database, not in the audit log, not in the worker's log.

The worker gets ``GOVFLOW_SECRET_API_TOKEN`` in its environment. One execution passes the
secret to an ``at_most_once`` action (whose rendered parameters are kept for recovery, and
whose output echoes it) and to ``echo``; another to an action that fails with the value in its
error message; a third names a secret nobody knows. The only place the value may be is the
test action's own effect table, which proves the action received it.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest

from govflow.bootstrap import Container, container
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import (
    ROOT,
    eventually,
    install_workflow,
    plugins_for_tests,
    prepare_effects,
    process_env,
    step_rows,
)

pytestmark = pytest.mark.e2e

USES = """
name: secret-uses
title: Uses a secret
department: general-administration
defaults:
  retry: {max_attempts: 1}
steps:
  - id: record
    action: effect_at_most_once
    with: {label: "{{ secret('API_TOKEN') }}"}
  - id: echo
    action: echo
    with: {value: "Bearer {{ secret('API_TOKEN') }}"}
"""

REFUSED = """
name: secret-refused
title: Fails with the secret in its error
department: general-administration
steps:
  - id: call
    action: effect_none
    with: {label: "{{ secret('API_TOKEN') }}", business_error: true}
"""

UNKNOWN = """
name: secret-unknown
title: Names a secret nobody knows
department: general-administration
steps:
  - id: call
    action: echo
    with: {value: "{{ secret('NOBODY_KNOWS') }}"}
"""

EXTERNAL = frozenset({"test_effects"})
"""The test action's effects: outside GovFlow, where the value must arrive."""


@pytest.fixture
async def producer(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Container]:
    monkeypatch.setenv("GOVFLOW_TEST_EFFECTS_DSN", database_url)
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


async def settle(conn: asyncpg.Connection, execution_id: UUID) -> str:
    status: str = await eventually(
        lambda: conn.fetchval("SELECT status FROM executions WHERE id = $1", execution_id),
        lambda status: status in ("COMPLETED", "FAILED"),
        timeout=60,
    )
    return status


async def table_dumps(conn: asyncpg.Connection) -> dict[str, str]:
    """Every row of every table of the database, as text, by table."""
    tables = await conn.fetch(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' "
        "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
    )
    dumps: dict[str, str] = {}
    for row in tables:
        name = f'"{row["table_schema"]}"."{row["table_name"]}"'
        rows = await conn.fetch(f"SELECT t::text AS line FROM {name} t")  # noqa: S608 - catalog names
        dumps[row["table_name"]] = "\n".join(r["line"] for r in rows)
    return dumps


async def test_a_secret_reaches_the_action_and_is_stored_nowhere(
    settings: Settings, producer: Container, database_url: str, tmp_path: Path
) -> None:
    value = f"tok-{secrets.token_hex(16)}"
    conn = await asyncpg.connect(database_url)
    try:
        for text in (USES, REFUSED, UNKNOWN):
            await install_workflow(conn, text)
        log_path = tmp_path / "worker.log"
        env = process_env(
            settings, GOVFLOW_SECRET_API_TOKEN=value, LOG_FORMAT="json", LOG_LEVEL="INFO"
        )
        with log_path.open("wb") as log_file:
            worker = subprocess.Popen(
                [sys.executable, "-m", "govflow", "worker"],
                env=env,
                cwd=ROOT,
                stderr=log_file,
                stdout=log_file,
            )
            try:
                ids = {}
                for name in ("secret-uses", "secret-refused", "secret-unknown"):
                    started = await producer.start_execution(StartRequest(workflow=name))
                    ids[name] = started.execution_id
                statuses = {name: await settle(conn, ids[name]) for name in ids}
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(30)
        assert statuses == {
            "secret-uses": "COMPLETED",
            "secret-refused": "FAILED",
            "secret-unknown": "FAILED",
        }
        uses = await step_rows(conn, ids["secret-uses"])
        refused = await step_rows(conn, ids["secret-refused"])
        unknown = await step_rows(conn, ids["secret-unknown"])
        params = await conn.fetchval(
            "SELECT params::text FROM execution_steps WHERE execution_id = $1 AND step_key = $2",
            ids["secret-uses"],
            "record",
        )
        effects = await conn.fetch("SELECT label FROM test_effects")
        dumps = await table_dumps(conn)
    finally:
        await conn.close()

    # The action received the value: its effect carries it (the refusing one records none).
    assert [row["label"] for row in effects] == [value]
    # What GovFlow kept names the secret instead.
    assert json.loads(params) == {
        "label": "[secret:API_TOKEN]",
        "sleep_ms": 0,
        "crash": None,
        "fail_times": 0,
        "business_error": False,
    }
    assert json.loads(uses[0]["output"])["label"] == "[secret:API_TOKEN]"
    assert json.loads(uses[1]["output"]) == {"value": "Bearer [secret:API_TOKEN]"}
    assert json.loads(refused[0]["error"])["message"] == "refused: [secret:API_TOKEN]"
    error = json.loads(unknown[0]["error"])
    assert error["code"] == "UNKNOWN_SECRET"
    assert error["message"].startswith("unknown secret 'NOBODY_KNOWS'")
    # Nowhere else: no table (the audit log included), no line of the worker's log.
    assert "audit_logs" in dumps
    assert "execution_step_attempts" in dumps
    leaks = sorted(name for name, text in dumps.items() if value in text and name not in EXTERNAL)
    assert leaks == []
    assert "[secret:API_TOKEN]" in dumps["audit_logs"]  # the refusal's error, audited redacted
    log = log_path.read_text()
    assert "worker" in log  # the worker did log (its ready line, at least)
    assert value not in log
