"""A real worker's JSON log correlates: every line written while a step runs carries the
execution id, the step, its attempt and the workflow, and what an action logs keeps its extras.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from govflow.adapters.db.seed import seed_departments
from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.bootstrap import Container, container
from govflow.core.validation import validate_workflow
from govflow.plugins.manager import PluginManager
from govflow.settings import Settings
from govflow.usecases.audit import SYSTEM
from govflow.usecases.start_execution import StartRequest
from tests.support import logging_plugin
from tests.support.engine import ROOT, eventually, plugins_for_tests, process_env

pytestmark = pytest.mark.e2e

WORKFLOW = """
name: chatty-orders
title: Two steps that log
department: general-administration
inputs:
  order: {type: integer}
defaults:
  retry: {max_attempts: 2, initial_delay: 0s, jitter: false}
steps:
  - {id: receive, action: chatty, with: {order: "{{ inputs.order }}", fail_first: true}}
  - {id: check, action: chatty, with: {order: "{{ steps.receive.output.order }}"}}
"""
ACTION_LOGGERS = {"govflow.action.chatty", "tests.logging_plugin", "tests.logging_plugin.library"}


def plugins() -> PluginManager:
    manager = plugins_for_tests()
    manager.register(logging_plugin, name="tests.support.logging_plugin")
    return manager


@pytest.fixture
async def producer(settings: Settings) -> AsyncIterator[Container]:
    async with container(settings, plugins=plugins()) as services:
        yield services


def json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for text in path.read_text().splitlines():
        if text.startswith("{"):
            lines.append(json.loads(text))
    return lines


async def test_every_line_of_a_step_carries_its_ids_and_the_actions_extras(
    settings: Settings, producer: Container, database_url: str, tmp_path: Path
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await seed_departments(conn)
        spec = validate_workflow(WORKFLOW, "<test>", plugins().actions().inputs())
        await PgWorkflowStore(conn).save(spec, WORKFLOW, None, SYSTEM)
        log_path = tmp_path / "worker.log"
        env = process_env(
            settings,
            GOVFLOW_PLUGINS_MODULES="tests.support.logging_plugin",
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
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
                started = await producer.start_execution(
                    StartRequest(workflow="chatty-orders", inputs={"order": 42})
                )
                execution_id = started.execution_id
                await eventually(
                    lambda: conn.fetchval(
                        "SELECT status FROM executions WHERE id = $1", execution_id
                    ),
                    lambda status: status == "COMPLETED",
                    timeout=60,
                )
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(30)
    finally:
        await conn.close()

    lines = json_lines(log_path)
    action_lines = [line for line in lines if line.get("logger") in ACTION_LOGGERS]
    seen = sorted({(line["step"], line["attempt"]) for line in action_lines})
    assert seen == [("check", 1), ("receive", 1), ("receive", 2)]
    assert len(action_lines) == 9  # three lines for each of the three attempts
    for line in action_lines:
        assert line["execution_id"] == str(execution_id), line
        assert line["workflow"] == "chatty-orders", line
        assert line["step_id"], line
        if "received" in line["event"] or "checked" in line["event"]:
            assert (line["order"], line["channel"]) == (
                42,
                "extra" if "received" in line["event"] else "structlog",
            ), line
    # The worker's own lines outside any step carry no step ids.
    ready = next(line for line in lines if "ready" in line["event"])
    assert "execution_id" not in ready
