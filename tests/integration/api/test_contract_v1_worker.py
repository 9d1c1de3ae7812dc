"""Plugin contract v1 through real worker processes: a failure's ``retry_after`` is waited out and
its details shown by the API and the CLI, a heartbeat keeps a long action's lease and shows its
progress, a suspended step is finished by its signal, and a worker lacking an action hands the
step back to one that has it."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

from govflow.adapters.db.seed import seed_departments
from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.core.validation import validate_workflow
from govflow.plugins.manager import PluginManager
from govflow.usecases.audit import SYSTEM
from govflow.usecases.start_execution import StartRequest
from tests.integration.api.conftest import ApiHarness, body
from tests.support import contract_plugin
from tests.support.engine import ROOT, eventually, process_env, processes

CONTRACT = "tests.support.contract_plugin"
ENDED = ("COMPLETED", "FAILED", "NEEDS_ATTENTION", "CANCELED")


def contract_plugins() -> PluginManager:
    manager = PluginManager()
    manager.load_entry_points()
    manager.register(contract_plugin, name=CONTRACT)
    return manager


async def install(api: ApiHarness, text: str) -> None:
    async with api.services.db.pool.acquire() as conn:
        await seed_departments(conn)
        spec = validate_workflow(text, "<test>", contract_plugins().actions().inputs())
        await PgWorkflowStore(conn).save(spec, text, None, SYSTEM)


def workflow(name: str, *steps: str, max_attempts: int = 3) -> str:
    listed = "\n".join(f"  - {step}" for step in steps)
    return f"""
name: {name}
title: {name}
department: general-administration
defaults:
  retry: {{max_attempts: {max_attempts}, initial_delay: 0s, jitter: false}}
steps:
{listed}
"""


async def start(api: ApiHarness, name: str) -> UUID:
    return (await api.services.start_execution(StartRequest(workflow=name))).execution_id


async def status_of(api: ApiHarness, execution_id: UUID) -> str:
    pool = api.services.db.pool
    return str(await pool.fetchval("SELECT status FROM executions WHERE id = $1", execution_id))


async def settle(api: ApiHarness, execution_id: UUID, accept: tuple[str, ...] = ENDED) -> str:
    return await eventually(lambda: status_of(api, execution_id), lambda s: s in accept, timeout=60)


async def steps(api: ApiHarness, execution_id: UUID) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"/workflow-executions/{execution_id}/steps", headers=api.headers("ADMIN")
    )
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = body(response)["data"]
    return listed


def cli(api: ApiHarness, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govflow", *args],
        env=process_env(api.settings, GOVFLOW_PLUGINS_MODULES=""),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_retry_after_is_waited_out_and_the_details_are_shown(
    api: ApiHarness, tmp_path: Path
) -> None:
    await install(api, workflow("limited", "{id: call, action: contract_rate_limited}"))
    await install(
        api, workflow("limited-once", "{id: call, action: contract_rate_limited}", max_attempts=1)
    )
    with processes(api.settings, GOVFLOW_PLUGINS_MODULES=CONTRACT) as group:
        group.start("worker")
        retried = await start(api, "limited")
        failed = await start(api, "limited-once")
        assert await settle(api, retried) == "COMPLETED"
        assert await settle(api, failed) == "FAILED"
    attempts = (await steps(api, retried))[0]["attempts"]
    assert [a["outcome"] for a in attempts] == ["RETRY", "COMPLETED"]
    assert attempts[0]["error"] == {
        "code": "TECHNICAL_ERROR",
        "message": "the remote service is rate limiting",
        "details": {"status_code": 429, "remaining": 0},
    }
    rows = await api.services.db.pool.fetch(
        "SELECT a.started_at, a.finished_at FROM execution_step_attempts a "
        "JOIN execution_steps s ON s.id = a.execution_step_id "
        "WHERE s.execution_id = $1 ORDER BY a.id",
        retried,
    )
    waited = (rows[1]["started_at"] - rows[0]["finished_at"]).total_seconds()
    assert waited >= 2.0  # the backoff alone (0 s) would have retried at once

    shown = cli(api, "executions", "show", str(failed))
    assert shown.returncode == 0, shown.stderr
    assert (
        'error: TECHNICAL_ERROR: the remote service is rate limiting  details: {"remaining": 0, '
        '"status_code": 429}'
    ) in shown.stdout


async def test_heartbeats_keep_a_long_action_and_show_its_progress(api: ApiHarness) -> None:
    long_step = "{id: long, action: contract_long, with: {seconds: 6, beat_every: 0.25}}"
    await install(api, workflow("long", long_step))
    with processes(api.settings, GOVFLOW_PLUGINS_MODULES=CONTRACT, LEASE_SECONDS="2") as group:
        group.start("worker")
        group.start("scheduler")  # sweeps every 0.3 s: it would take an expired lease
        execution_id = await start(api, "long")
        seen = await eventually(
            lambda: steps(api, execution_id),
            lambda listed: (listed[0]["step"]["progress"] or {}).get("done", 0) >= 3,
        )
        progress = seen[0]["step"]["progress"]
        assert progress["of"] == 24
        assert seen[0]["step"]["progress_at"] is not None
        assert await settle(api, execution_id) == "COMPLETED"
    attempts = (await steps(api, execution_id))[0]["attempts"]
    assert [a["outcome"] for a in attempts] == ["COMPLETED"]
    recovered = await api.services.db.pool.fetchval(
        "SELECT count(*) FROM audit_logs WHERE action = 'WORKFLOW_EXECUTION_STEP_RECOVERED'"
    )
    assert recovered == 0
    final = (await steps(api, execution_id))[0]["step"]["progress"]
    assert final == {"done": 24, "of": 24}


async def signal(
    api: ApiHarness, execution_id: UUID, json: dict[str, Any], role: str = "ADMIN", dept: str = "A"
) -> Any:
    return await api.client.post(
        f"/workflow-executions/{execution_id}/steps/wait/signal",
        json=json,
        headers=api.headers(role, dept),
    )


async def test_a_signal_with_the_right_token_finishes_a_suspended_step(
    api: ApiHarness, tmp_path: Path
) -> None:
    await install(
        api,
        workflow(
            "callback",
            "{id: wait, action: contract_callback, with: {order: o-7}}",
            "{id: after, action: contract_echo, with: {order: '{{ steps.wait.output.paid }}'}}",
        ),
    )
    env = {"GOVFLOW_PLUGINS_MODULES": CONTRACT, "GOVFLOW_TEST_CONTRACT_DIR": str(tmp_path)}
    with processes(api.settings, **env) as group:
        group.start("worker")
        execution_id = await start(api, "callback")
        assert await settle(api, execution_id, ("WAITING", *ENDED)) == "WAITING"
        step = (await steps(api, execution_id))[0]["step"]
        assert step["wait_reason"] == "payment_callback"
        token = (tmp_path / f"{step['id']}.token").read_text()

        wrong = await signal(api, execution_id, {"token": "not-the-token", "output": {}})
        assert wrong.status_code == 403, wrong.text
        other = await signal(api, execution_id, {"token": token}, "MANAGER", "B")
        assert other.status_code == 404, other.text
        both = await signal(
            api, execution_id, {"token": token, "output": {}, "error": {"message": "x"}}
        )
        assert both.status_code == 400
        assert "body.error" in both.text
        assert await status_of(api, execution_id) == "WAITING"

        right = await signal(api, execution_id, {"token": token, "output": {"paid": "yes"}})
        assert right.status_code == 200, right.text
        assert body(right)["data"]["step_status"] == "COMPLETED"
        assert await settle(api, execution_id) == "COMPLETED"
        replay = await signal(api, execution_id, {"token": token, "output": {"paid": "yes"}})
        assert replay.status_code == 409, replay.text
    listed = await steps(api, execution_id)
    assert listed[0]["step"]["output"] == {"paid": "yes"}
    assert listed[1]["step"]["output"] == {"order": "yes"}
    actions = await api.audit_actions()
    assert actions.count("WORKFLOW_EXECUTION_STEP_SIGNAL_REFUSED") == 1
    assert actions.count("WORKFLOW_EXECUTION_STEP_SIGNALED") == 1
    stored = await api.services.db.pool.fetchval(
        "SELECT resume_token_hash FROM execution_steps WHERE id = $1", UUID(step["id"])
    )
    assert token not in stored  # only its hash is kept


async def test_a_signal_with_an_error_fails_the_step_with_its_details(
    api: ApiHarness, tmp_path: Path
) -> None:
    await install(api, workflow("callback-fails", "{id: wait, action: contract_callback}"))
    env = {"GOVFLOW_PLUGINS_MODULES": CONTRACT, "GOVFLOW_TEST_CONTRACT_DIR": str(tmp_path)}
    with processes(api.settings, **env) as group:
        group.start("worker")
        execution_id = await start(api, "callback-fails")
        assert await settle(api, execution_id, ("WAITING", *ENDED)) == "WAITING"
    step = (await steps(api, execution_id))[0]["step"]
    token = (tmp_path / f"{step['id']}.token").read_text()
    error = {"code": "PAYMENT_DECLINED", "message": "card refused", "details": {"bank": "x"}}
    answer = await signal(api, execution_id, {"token": token, "error": error})
    assert answer.status_code == 200, answer.text
    assert await status_of(api, execution_id) == "FAILED"
    assert (await steps(api, execution_id))[0]["step"]["error"] == error


async def test_a_worker_lacking_the_action_hands_the_step_to_one_that_has_it(
    api: ApiHarness,
) -> None:
    await install(api, workflow("echo", "{id: echo, action: contract_echo, with: {order: o-9}}"))
    with processes(api.settings, GOVFLOW_PLUGINS_MODULES="") as old:
        old.start("worker")
        execution_id = await start(api, "echo")

        async def handed_back() -> int:
            return int(
                await api.services.db.pool.fetchval(
                    "SELECT handbacks FROM execution_steps WHERE execution_id = $1", execution_id
                )
            )

        await eventually(handed_back, lambda n: n >= 1)
        assert await status_of(api, execution_id) == "RUNNING"
        with processes(api.settings, GOVFLOW_PLUGINS_MODULES=CONTRACT) as new:
            new.start("worker")
            assert await settle(api, execution_id) == "COMPLETED"
    listed = (await steps(api, execution_id))[0]
    assert listed["step"]["output"] == {"order": "o-9"}
    outcomes = [a["outcome"] for a in listed["attempts"]]
    assert outcomes[-1] == "COMPLETED"
    assert set(outcomes[:-1]) == {"HANDED_BACK"}
    assert listed["step"]["attempt"] == 1  # hand-backs spend no attempt
    reasons = await api.services.db.pool.fetch(
        "SELECT reason, metadata->>'action' AS action FROM audit_logs "
        "WHERE action = 'WORKFLOW_EXECUTION_STEP_HANDED_BACK'"
    )
    assert reasons
    assert {(r["reason"], r["action"]) for r in reasons} == {
        ("action_unavailable", "contract_echo")
    }


async def join_fleet(api: ApiHarness, *actions: str) -> None:
    """A live worker offering ``actions`` (as a worker's heartbeat row records it)."""
    await api.services.db.pool.execute(
        "INSERT INTO workers (id, hostname, pid, plugins, actions) VALUES ($1, 'h', 1, '{}', $2)",
        f"worker:test:{uuid.uuid4().hex[:6]}",
        json.dumps(list(actions)),
    )


def notifying(name: str) -> str:
    return workflow(name, "{id: say, action: notification, with: {channel: log, message: hi}}")


async def upload(api: ApiHarness, text: str) -> dict[str, Any]:
    async with api.services.db.pool.acquire() as conn:
        await seed_departments(conn)
    headers = {**api.headers("ADMIN"), "Content-Type": "application/yaml"}
    response = await api.client.post("/workflows", content=text, headers=headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = body(response)["data"]
    return data


async def test_an_upload_warns_about_actions_no_live_worker_offers(api: ApiHarness) -> None:
    alone = await upload(api, notifying("nobody-runs-it"))
    assert alone["warnings"] == [
        "no live worker: nothing will run the actions notification until a worker starts"
    ]
    await join_fleet(api, "manual")
    lacking = await upload(api, notifying("nobody-offers-it"))
    assert len(lacking["warnings"]) == 1
    assert lacking["warnings"][0].startswith("no live worker offers the action(s) notification:")
    await join_fleet(api, "notification")
    offered = await upload(api, notifying("offered"))
    assert offered["warnings"] == []
    assert await status_of_workflow(api, "nobody-offers-it")  # the upload was saved all the same


async def status_of_workflow(api: ApiHarness, name: str) -> bool:
    return bool(
        await api.services.db.pool.fetchval("SELECT 1 FROM workflows WHERE name = $1", name)
    )


async def test_workflows_load_warns_but_loads(api: ApiHarness, tmp_path: Path) -> None:
    async with api.services.db.pool.acquire() as conn:
        await seed_departments(conn)
    await join_fleet(api, "manual")
    (tmp_path / "say.yaml").write_text(notifying("said"))
    loaded = cli(api, "workflows", "load", str(tmp_path))
    assert loaded.returncode == 0, loaded.stderr
    assert "workflow said: created" in loaded.stdout
    assert "warning: no live worker offers the action(s) notification:" in loaded.stderr
