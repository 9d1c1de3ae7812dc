"""workflows.d/parcel-register-check.yaml (foreach: the land register consulted for each parcel,
three at a time) runs to COMPLETED, one result per parcel, in the order of the parcels."""

from __future__ import annotations

import json

from govflow.bootstrap import Container
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import ROOT, install_workflow, step_rows

EXAMPLE = ROOT / "workflows.d" / "parcel-register-check.yaml"


async def test_each_parcel_is_consulted_and_the_applicant_told(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, EXAMPLE.read_text())
    parcels = ["12-A", "12-B", "14", "15/2", "16"]
    started = await engine.start_execution(
        StartRequest(
            workflow="parcel-register-check",
            inputs={"reference": "BP-2031-22", "parcels": parcels},
        )
    )
    assert started.first_step_id is not None
    await engine.step_runner().run(started.first_step_id)
    async with engine.db.pool.acquire() as conn:
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
        steps = await step_rows(conn, started.execution_id)
    assert status == "COMPLETED"
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("consult_register", "COMPLETED"),
        ("tell_applicant", "COMPLETED"),
        ("outputs", "COMPLETED"),
    ]
    assert len(json.loads(steps[0]["output"])["items"]) == len(parcels)
    view = await engine.execution_reader.get(started.execution_id, None)
    assert view is not None
    assert view.outputs == {"parcels_checked": 5}
