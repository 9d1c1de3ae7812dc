"""One execution started through the real API (``govflow api``) and run by a real worker
(``govflow worker``), both exporting spans to an OTLP/HTTP receiver on loopback: one trace from
the HTTP request to the last step's plugin call, the context crossing Redis in the wake-up.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from govflow.adapters.db.seed import seed_departments
from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.adapters.security.tokens import AccessTokens
from govflow.core.validation import validate_workflow
from govflow.http.app import signing_secret
from govflow.plugins.manager import PluginManager
from govflow.settings import Settings
from govflow.usecases.audit import SYSTEM
from tests.support import http_call_plugin
from tests.support.api_server import ApiServer
from tests.support.engine import (
    ROOT,
    eventually,
    plugins_for_tests,
    prepare_effects,
    process_env,
    processes,
)
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan

pytestmark = pytest.mark.e2e

WORKFLOW = """
name: traced-calls
title: Two plugin calls
department: general-administration
inputs:
  url: {type: string}
steps:
  - {id: first, action: http_get, with: {url: "{{ inputs.url }}/first"}}
  - {id: last, action: http_get, with: {url: "{{ inputs.url }}/last"}}
"""
PLUGINS = "tests.support.http_call_plugin"
CRASHING = """
name: traced-crash
title: Kills its worker as its at-most-once attempt starts
department: general-administration
steps:
  - {id: charge, action: effect_at_most_once, with: {label: charge, crash: before_effect}}
"""

RETRIED = """
name: traced-retry
title: Kills its worker once; the next worker retries it
department: general-administration
defaults:
  retry: {max_attempts: 3, initial_delay: 0s, jitter: false}
steps:
  - {id: charge, action: effect_none, with: {label: charge, crash: before_effect}}
"""


def plugins() -> PluginManager:
    manager = plugins_for_tests()
    manager.register(http_call_plugin, name=PLUGINS)
    return manager


async def _prepare(
    settings: Settings, database_url: str, workflow: str = WORKFLOW
) -> tuple[str, str]:
    """The stored workflow's id and an OPERATOR's bearer header in its department."""
    spec = validate_workflow(workflow, "traced.yaml", plugins().actions().inputs())
    tokens = AccessTokens(
        signing_secret(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.jwt_access_ttl_seconds,
    )
    conn = await asyncpg.connect(database_url)
    try:
        await seed_departments(conn)
        saved = await PgWorkflowStore(conn).save(spec, workflow, None, SYSTEM)
        department = await conn.fetchval(
            "SELECT id FROM departments WHERE code = 'general-administration'"
        )
        row = await conn.fetchrow(
            "INSERT INTO users (email, full_name, password_hash, role, department_id) "
            "VALUES ('tracer@example.org', 'Tracer', 'x', 'OPERATOR', $1) "
            "RETURNING id, token_version",
            department,
        )
        token = tokens.issue(
            row["id"], role="OPERATOR", department_id=department, token_version=row["token_version"]
        )
    finally:
        await conn.close()
    return str(saved.workflow_id), f"Bearer {token}"


def _children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    return [s for s in spans if s.parent_span_id == parent.span_id]


def _one(spans: list[ReceivedSpan], **match: Any) -> ReceivedSpan:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    assert len(found) == 1, (match, [(s.name, s.service, s.kind) for s in spans])
    return found[0]


async def test_one_trace_from_the_request_to_the_last_plugin_call(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    workflow_id, auth = await _prepare(settings, database_url)
    with OtlpReceiver() as receiver:
        tracing_env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "OUTBOUND_ALLOW_NETWORKS": "127.0.0.1/32",
            "GOVFLOW_PLUGINS_MODULES": PLUGINS,
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
        }
        worker_log = tmp_path / "worker.log"
        with worker_log.open("wb") as log_file:
            worker = subprocess.Popen(
                [sys.executable, "-m", "govflow", "worker"],
                env=process_env(settings, **tracing_env),
                cwd=ROOT,
                stdout=log_file,
                stderr=log_file,
            )
        try:
            async with (
                ApiServer(settings, **tracing_env) as server,
                httpx.AsyncClient(base_url=server.url, timeout=10.0) as client,
            ):
                started = await client.post(
                    f"/workflows/{workflow_id}/executions",
                    json={"inputs": {"url": receiver.endpoint}},
                    headers={"Authorization": auth},
                )
                assert started.status_code == 201, started.text
                execution_id = started.json()["data"]["execution_id"]
                version, trace_id, request_span_id, flags = started.headers["traceparent"].split(
                    "-"
                )
                assert version == "00"
                assert int(flags, 16) & 1  # sampled

                async def status() -> str:
                    read = await client.get(
                        f"/workflow-executions/{execution_id}", headers={"Authorization": auth}
                    )
                    return str(read.json()["data"]["status"])

                assert await eventually(status, lambda s: s in ("COMPLETED", "FAILED")) == (
                    "COMPLETED"
                )
                # Both processes export in batches every 50 ms: wait for the last plugin call.
                await eventually(
                    _received(receiver),
                    lambda spans: (
                        sum(s.kind == "client" and s.trace_id == trace_id for s in spans) == 2
                    ),
                )
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)

    spans = [s for s in receiver.spans() if s.trace_id == trace_id]
    request = _one(spans, kind="server", service="govflow-api")
    assert request.span_id == request_span_id
    assert request.name == "POST /workflows/{workflow}/executions"
    assert request.parent_span_id == ""  # the root of the trace
    start = _one(_children(spans, request), name="govflow.start_execution")
    assert start.attributes["govflow.execution_id"] == execution_id
    send = _one(_children(spans, start), name="govflow.wake_up send", kind="producer")
    # The worker continues the context the message carried through Redis.
    receive = _one(_children(spans, send), name="govflow.wake_up receive", kind="consumer")
    assert receive.service == "govflow-worker"
    steps = sorted(_children(spans, receive), key=lambda s: s.start_ns)
    assert [s.name for s in steps] == ["govflow.step http_get", "govflow.step http_get"]
    for key, step in zip(("first", "last"), steps, strict=True):
        assert step.attributes == {
            "govflow.workflow": "traced-calls",
            "govflow.workflow_version_id": step.attributes["govflow.workflow_version_id"],
            "govflow.execution_id": execution_id,
            "govflow.step_key": key,
            "govflow.action": "http_get",
            "govflow.attempt": 1,
            "govflow.strategy": "none",
            "govflow.outcome": "COMPLETED",
        }
        [call] = _children(spans, step)
        assert call.kind == "client"
        assert (call.name, call.service) == ("GET", "govflow-worker")
        assert call.attributes["http.url"] == f"{receiver.endpoint}/{key}"
        assert call.attributes["http.status_code"] == 200
    assert {s.service for s in spans} == {"govflow-api", "govflow-worker"}

    # The step events' audit entries and the worker's log lines name the same trace.
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT action, metadata::text AS m FROM audit_logs "
            "WHERE entity_type = 'execution_step' OR (metadata->>'execution_id') = $1",
            execution_id,
        )
    finally:
        await conn.close()
    traced = [json.loads(r["m"]) for r in rows if "trace_id" in json.loads(r["m"])]
    assert traced, [r["action"] for r in rows]
    assert {m["trace_id"] for m in traced} == {trace_id}
    assert {m["span_id"] for m in traced} <= {s.span_id for s in steps}
    lines = [json.loads(t) for t in worker_log.read_text().splitlines() if t.startswith("{")]
    called = [line for line in lines if line.get("event") == "called"]
    assert len(called) == 2
    assert {line["trace_id"] for line in called} == {trace_id}
    assert {line["span_id"] for line in called} == {s.span_id for s in steps}


def _received(receiver: OtlpReceiver) -> Callable[[], Awaitable[list[ReceivedSpan]]]:
    async def probe() -> list[ReceivedSpan]:
        return receiver.spans()

    return probe


async def test_a_recovery_starts_a_trace_linked_to_the_executions(
    settings: Settings, database_url: str
) -> None:
    workflow_id, auth = await _prepare(settings, database_url, CRASHING)
    await prepare_effects(database_url)
    with OtlpReceiver() as receiver:
        tracing_env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "GOVFLOW_PLUGINS_MODULES": "tests.support.effects_plugin",
        }
        with processes(settings, **tracing_env) as group:
            worker = group.start("worker")
            group.start("scheduler")
            async with (
                ApiServer(settings, **tracing_env) as server,
                httpx.AsyncClient(base_url=server.url, timeout=10.0) as client,
            ):
                started = await client.post(
                    f"/workflows/{workflow_id}/executions",
                    json={"inputs": {}},
                    headers={"Authorization": auth},
                )
                assert started.status_code == 201, started.text
                execution_id = started.json()["data"]["execution_id"]
                trace_id = started.headers["traceparent"].split("-")[1]

                async def status() -> str:
                    read = await client.get(
                        f"/workflow-executions/{execution_id}", headers={"Authorization": auth}
                    )
                    return str(read.json()["data"]["status"])

                assert await eventually(status, lambda s: s == "NEEDS_ATTENTION", timeout=60)
                assert worker.poll() is not None  # it killed itself
                await eventually(
                    _received(receiver),
                    lambda spans: any(s.name == "govflow.recovery" for s in spans),
                )
    spans = receiver.spans()
    start = _one(spans, name="govflow.start_execution")
    assert start.trace_id == trace_id
    recovery = _one(spans, name="govflow.recovery")
    assert recovery.service == "govflow-scheduler"
    assert recovery.trace_id != trace_id  # a trace of its own ...
    assert recovery.links == ((trace_id, start.span_id),)  # ... linked to the execution's
    assert recovery.attributes["govflow.execution_id"] == execution_id
    assert recovery.attributes["govflow.outcome"] == "needs_attention"


async def test_wake_ups_re_sent_after_a_recovery_start_traces_linked_to_the_executions(
    settings: Settings, database_url: str
) -> None:
    workflow_id, auth = await _prepare(settings, database_url, RETRIED)
    await prepare_effects(database_url)
    with OtlpReceiver() as receiver:
        tracing_env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "GOVFLOW_PLUGINS_MODULES": "tests.support.effects_plugin",
        }
        with processes(settings, **tracing_env) as group:
            first = group.start("worker")
            group.start("scheduler")
            async with (
                ApiServer(settings, **tracing_env) as server,
                httpx.AsyncClient(base_url=server.url, timeout=10.0) as client,
            ):
                started = await client.post(
                    f"/workflows/{workflow_id}/executions",
                    json={"inputs": {}},
                    headers={"Authorization": auth},
                )
                assert started.status_code == 201, started.text
                execution_id = started.json()["data"]["execution_id"]
                trace_id = started.headers["traceparent"].split("-")[1]
                # The worker dies in the attempt; the scheduler recovers the step and wakes it,
                # nobody takes the wake-up (no worker left), so the scheduler sends it again.
                await eventually(
                    _received(receiver),
                    lambda spans: (
                        any(s.name == "govflow.recovery" for s in spans)
                        and any(s.name == "govflow.resend" for s in spans)
                    ),
                    timeout=60,
                )
                assert first.poll() is not None  # it killed itself
                group.start("worker")

                async def status() -> str:
                    read = await client.get(
                        f"/workflow-executions/{execution_id}", headers={"Authorization": auth}
                    )
                    return str(read.json()["data"]["status"])

                assert await eventually(status, lambda s: s in ("COMPLETED", "FAILED")) == (
                    "COMPLETED"
                )
                await eventually(
                    _received(receiver),
                    lambda spans: any(
                        s.name == "govflow.step effect_none"
                        and s.attributes.get("govflow.outcome") == "COMPLETED"
                        for s in spans
                    ),
                )
    spans = receiver.spans()
    start = _one(spans, name="govflow.start_execution")
    assert start.trace_id == trace_id
    origin = ((trace_id, start.span_id),)
    recovery = _one(spans, name="govflow.recovery")
    assert recovery.links == origin
    assert recovery.attributes["govflow.outcome"] == "recovered"
    resends = [s for s in spans if s.name == "govflow.resend"]
    assert resends
    step_id = resends[0].attributes["govflow.step_id"]
    for resend in resends:
        assert resend.service == "govflow-scheduler"
        assert resend.parent_span_id == ""  # a trace of its own ...
        assert resend.trace_id not in (trace_id, recovery.trace_id)
        assert resend.links == origin  # ... linked to the execution's
        assert resend.attributes == {
            "govflow.step_id": step_id,
            "govflow.execution_id": execution_id,
        }
        _one(_children(spans, resend), name="govflow.wake_up send", kind="producer")
    # The attempt that completed the step ran in the trace of the recovery's wake-up or of a
    # re-sent one: either way, one link away from the request's trace.
    [completed] = [
        s
        for s in spans
        if s.name == "govflow.step effect_none" and s.attributes["govflow.outcome"] == "COMPLETED"
    ]
    assert completed.attributes["govflow.execution_id"] == execution_id
    assert completed.trace_id in {recovery.trace_id, *(s.trace_id for s in resends)}
