"""workflows.d/roadworks-notice.yaml (vars, continue_on_error, a status condition, outputs) runs
to COMPLETED: with Jira not configured its comment fails and the notice goes on."""

from __future__ import annotations

import json

from govflow.bootstrap import Container
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import ROOT, install_workflow, step_rows

EXAMPLE = ROOT / "workflows.d" / "roadworks-notice.yaml"


async def test_the_roadworks_notice_completes_without_jira(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, EXAMPLE.read_text())
    inputs = {"issue_key": "PERMIT-12", "street": "rue des lilas", "start_date": "2031-03-01"}
    started = await engine.start_execution(
        StartRequest(workflow="roadworks-notice", inputs={**inputs, "days": 45, "lanes_closed": 2})
    )
    await engine.step_runner().run(started.first_step_id)  # type: ignore[arg-type]
    async with engine.db.pool.acquire() as conn:
        execution = await conn.fetchrow(
            "SELECT status, vars::text AS vars FROM executions WHERE id = $1",
            started.execution_id,
        )
        steps = await step_rows(conn, started.execution_id)
    assert execution is not None
    assert execution["status"] == "COMPLETED"
    assert json.loads(execution["vars"]) == {
        "subject": "Roadworks on Rue Des Lilas from 2031-03-01 (45 days)",
        "full_closure": True,
        "long_works": True,
    }
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("announce", "COMPLETED"),
        ("comment", "FAILED"),
        ("comment_missing", "COMPLETED"),
        ("long_works_review", "COMPLETED"),
        ("outputs", "COMPLETED"),
    ]
    assert "Jira is not configured" in json.loads(steps[1]["error"])["message"]
    view = await engine.execution_reader.get(started.execution_id, None)
    assert view is not None
    assert view.outputs == {
        "subject": "Roadworks on Rue Des Lilas from 2031-03-01 (45 days)",
        "jira_commented": False,
        "traffic_review": True,
    }
