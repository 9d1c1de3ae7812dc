"""Workers killed with SIGKILL after Jira applied a comment or a transition, before GovFlow
committed the step: after recovery Jira holds exactly one comment per key and one transition.

The emulator runs in the test's event loop; a wrapper around it kills every worker process at
the moment Jira has applied the write and is about to answer. The scheduler recovers the
expired lease, the restarted worker's lookup finds the effect by its key, and the step completes
without a second request. Every request the workers sent is validated against the OpenAPI
document.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from govflow_jira.client import COMMENT_PROPERTY, transition_property

from govflow.bootstrap import Container, container
from govflow.core.audit_events import AuditEvent
from govflow.devtools.jira_emulator.handle import JiraEmulator
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import Processes, install_workflow, plugins_for_tests, processes
from tests.support.jira.validation import validate_request

pytestmark = pytest.mark.e2e

BASIC = "Basic " + base64.b64encode(b"govflow@example.com:emulator-token").decode()
SETTLED = {"COMPLETED", "FAILED", "NEEDS_ATTENTION", "CANCELED"}
WORKFLOW = """
name: jira-crash
title: Jira crash test
department: general-administration
inputs:
  issue: {type: string}
defaults:
  retry: {max_attempts: 4, initial_delay: 0s, jitter: false}
steps:
  - id: comment
    action: jira_comment
    with: {issue: "{{ inputs.issue }}", body: "Reviewed **once**.", format: markdown}
  - id: close
    action: jira_transition
    with: {issue: "{{ inputs.issue }}", to_status: Done, comment: Closed by GovFlow}
"""


def jira_env(url: str, prefix: str) -> dict[str, str]:
    return {
        "GOVFLOW_PLUGINS_MODULES": "",
        "JIRA_ENABLED": "true",
        "JIRA_BASE_URL": url,
        "JIRA_EMAIL": "govflow@example.com",
        "JIRA_API_TOKEN": "emulator-token",
        "GOVFLOW_JIRA_REDIS_PREFIX": f"{prefix}:jira",
    }


class KillAfterApply:
    """The emulator's ASGI app, killing the workers once per matching POST after Jira applied
    it and before its answer leaves."""

    def __init__(self, inner: Any, paths: list[str], victims: Callable[[], list[int]]) -> None:
        self.inner = inner
        self.pending = [re.compile(path) for path in paths]
        self.victims = victims
        self.killed: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        rule = None
        if scope["type"] == "http" and scope["method"] == "POST":
            rule = next((r for r in self.pending if r.search(scope["path"])), None)
        if rule is None:
            await self.inner(scope, receive, send)
            return
        self.pending.remove(rule)

        async def kill_then_send(message: Any) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                for pid in self.victims():
                    os.kill(pid, signal.SIGKILL)
                self.killed.append(scope["path"])
            await send(message)

        await self.inner(scope, receive, kill_then_send)


def workers(group: Processes) -> list[int]:
    return [p.pid for p in group.running if p.poll() is None and p.args[3] == "worker"]  # type: ignore[index]


async def settle(conn: asyncpg.Connection, group: Processes, ids: list[UUID]) -> dict[UUID, str]:
    """Wait until every execution settles, restarting workers that died meanwhile."""
    deadline = asyncio.get_running_loop().time() + 90
    while True:
        rows = await conn.fetch("SELECT id, status FROM executions WHERE id = ANY($1)", ids)
        statuses = {r["id"]: r["status"] for r in rows}
        if statuses and all(s in SETTLED for s in statuses.values()):
            return statuses
        assert asyncio.get_running_loop().time() < deadline, f"not settled: {statuses}"
        for process in list(group.running):
            if process.poll() is not None and process.args[3] == "worker":  # type: ignore[index]
                group.running.remove(process)
                group.start("worker", "--concurrency", "1")
        await asyncio.sleep(0.05)


def validate_sent(emulator: JiraEmulator) -> int:
    """Validate every request the emulator received against the OpenAPI document."""
    count = 0
    for received in emulator.requests():
        request = httpx.Request(
            received.method,
            f"{emulator.url}{received.path}" + (f"?{received.query}" if received.query else ""),
            content=received.body.encode() if received.body else None,
            headers={"Content-Type": "application/json"} if received.body else {},
        )
        assert received.user == "govflow@example.com"
        request.headers["Authorization"] = BASIC
        validate_request(request)
        count += 1
    return count


@pytest.fixture
async def producer(settings: Settings) -> AsyncIterator[Container]:
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


async def test_sigkill_after_jira_applied_leaves_one_comment_and_one_transition(
    settings: Settings, producer: Container, database_url: str, redis_namespace: str
) -> None:
    emulator = JiraEmulator()
    group_ref: list[Processes] = []
    killer = KillAfterApply(
        emulator.app,
        [r"/issue/PERMIT-3/comment$", r"/issue/PERMIT-3/transitions$"],
        lambda: workers(group_ref[0]),
    )
    emulator.app = killer
    await emulator.start()
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, WORKFLOW)
        with processes(settings, **jira_env(emulator.url, redis_namespace)) as group:
            group_ref.append(group)
            group.start("worker", "--concurrency", "1")
            group.start("scheduler")
            started = await producer.start_execution(
                StartRequest(workflow="jira-crash", inputs={"issue": "PERMIT-3"})
            )
            statuses = await settle(conn, group, [started.execution_id])
        keys = {
            r["step_key"]: r["idempotency_key"]
            for r in await conn.fetch(
                "SELECT step_key, idempotency_key FROM execution_steps WHERE execution_id = $1",
                started.execution_id,
            )
        }
        lookups = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE action = $1",
            AuditEvent.WORKFLOW_EXECUTION_STEP_LOOKUP_REQUESTED,
        )
    finally:
        await conn.close()
        emulator.app = killer.inner
        await emulator.stop()

    assert killer.killed == [
        "/rest/api/3/issue/PERMIT-3/comment",
        "/rest/api/3/issue/PERMIT-3/transitions",
    ]
    assert statuses[started.execution_id] == "COMPLETED"
    issue = emulator.issue("PERMIT-3")
    ours = [
        c for c in issue.comments if c.properties.get(COMMENT_PROPERTY) == {"key": keys["comment"]}
    ]
    assert len(ours) == 1
    assert [c.text for c in issue.comments].count("Closed by GovFlow") == 1
    assert issue.status == "Done"
    assert len(emulator.transitions("PERMIT-3")) == 1
    assert transition_property(keys["close"]) in issue.properties
    posts = [r for r in emulator.requests() if r.method == "POST"]
    assert len(posts) == 2, [r.path for r in posts]
    assert lookups >= 2
    assert validate_sent(emulator) == len(emulator.requests())
