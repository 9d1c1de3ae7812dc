"""SSRF through the webhook channel, through a real worker process: a workflow whose webhook URL
comes from its inputs cannot make the worker reach loopback, whatever the spelling, by a name
or by a redirect; the step error does not tell an open port from a closed one. With loopback
allowed by the settings, delivery works."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from govflow.bootstrap import Container, container
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import eventually, install_workflow, plugins_for_tests, processes
from tests.support.outbound_peers import listening
from tests.support.peers import WebhookReceiver, closed_port

pytestmark = pytest.mark.e2e

PROBE = """
name: webhook-probe
title: A webhook to a URL given when the execution starts
department: general-administration
inputs:
  url: {type: string}
defaults:
  retry: {max_attempts: 1}
steps:
  - id: notify
    action: notification
    with: {channel: webhook, url: "{{ inputs.url }}", message: "probe"}
"""
NOT_ALLOWED = "webhook destination not allowed"


@pytest.fixture
async def conn(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(settings.database_url)
    await install_workflow(connection, PROBE)
    yield connection
    await connection.close()


@pytest.fixture
async def producer(settings: Settings, conn: asyncpg.Connection) -> AsyncIterator[Container]:
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


def worker_env(**settings: str) -> dict[str, str]:
    """The worker's environment: no test plugin module, and the given outbound settings."""
    return {"GOVFLOW_PLUGINS_MODULES": "", **settings}


async def run_probes(
    producer: Container, conn: asyncpg.Connection, urls: list[str]
) -> dict[str, dict[str, Any]]:
    """Start one execution per URL; once every one has finished, its step row by URL."""
    ids: dict[str, UUID] = {}
    for url in urls:
        started = await producer.start_execution(
            StartRequest(workflow="webhook-probe", inputs={"url": url})
        )
        ids[url] = started.execution_id
    query = (
        "SELECT e.id, e.status, s.status AS step_status, s.error::text AS error, "
        "s.output::text AS output FROM executions e JOIN execution_steps s "
        "ON s.execution_id = e.id WHERE e.id = ANY($1)"
    )
    rows = await eventually(
        lambda: conn.fetch(query, list(ids.values())),
        lambda found: all(r["status"] in ("FAILED", "COMPLETED") for r in found),
        timeout=60,
    )
    by_id = {row["id"]: dict(row) for row in rows}
    return {url: by_id[execution_id] for url, execution_id in ids.items()}


def error_message(row: dict[str, Any]) -> str:
    error = json.loads(row["error"])
    return str(error["message"])


async def test_no_spelling_of_loopback_reaches_the_listener(
    settings: Settings, producer: Container, conn: asyncpg.Connection
) -> None:
    async with (
        listening(host="127.0.0.1") as inside,
        listening(host="::1", port=inside.port) as inside_v6,
        listening(host="127.0.0.2", status=307) as redirector,
    ):
        port = inside.port
        redirector.headers["Location"] = f"http://127.0.0.1:{port}/admin"
        urls = [
            f"http://127.0.0.1:{port}/hooks",
            f"http://localhost:{port}/hooks",
            f"http://0x7f000001:{port}/hooks",
            f"http://2130706433:{port}/hooks",
            f"http://127.1:{port}/hooks",
            f"http://[::1]:{port}/hooks",
            f"http://[::ffff:127.0.0.1]:{port}/hooks",
            f"http://allowed.example@127.0.0.1:{port}/hooks",
            f"http://127.0.0.1:{closed_port()}/hooks",
            "http://169.254.169.254/latest/meta-data/",
            redirector.url,
        ]
        env = worker_env(
            OUTBOUND_ALLOW_NETWORKS="127.0.0.2/32",
            GOVFLOW_PLUGIN_NOTIFICATION_WEBHOOK_ALLOWLIST="*:*",
            GOVFLOW_PLUGIN_NOTIFICATION_WEBHOOK_FOLLOW_REDIRECTS="true",
        )
        with processes(settings, **env) as group:
            group.start("worker", "--concurrency", "4")
            results = await run_probes(producer, conn, urls)
        assert inside.connections == 0
        assert inside_v6.connections == 0
        assert len(redirector.requests) == 1  # the allowed receiver; its redirect is refused
    for url, row in results.items():
        assert (row["status"], row["step_status"]) == ("FAILED", "FAILED"), url
        error = json.loads(row["error"])
        assert error == {"code": "BUSINESS_ERROR", "message": NOT_ALLOWED}, url


async def test_with_loopback_allowed_delivery_works_and_the_allowlist_still_applies(
    settings: Settings,
    producer: Container,
    conn: asyncpg.Connection,
    webhook_receiver: WebhookReceiver,
) -> None:
    port = webhook_receiver.port
    listed = webhook_receiver.url
    unlisted = f"http://localhost:{port}/hooks/notify"  # the same receiver, by another name
    env = worker_env(
        OUTBOUND_ALLOW_NETWORKS="127.0.0.0/8",
        GOVFLOW_PLUGIN_NOTIFICATION_WEBHOOK_ALLOWLIST=f"http://127.0.0.1:{port}/hooks/",
    )
    with processes(settings, **env) as group:
        group.start("worker")
        results = await run_probes(producer, conn, [listed, unlisted])
    assert results[listed]["status"] == "COMPLETED"
    assert json.loads(results[listed]["output"])["status_code"] == 202
    assert error_message(results[unlisted]) == NOT_ALLOWED
    assert len(webhook_receiver.deliveries) == 1
    assert webhook_receiver.deliveries[0].payload["message"] == "probe"
