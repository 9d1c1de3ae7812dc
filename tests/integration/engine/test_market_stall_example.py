"""workflows.d/market-stall-permit.yaml runs to COMPLETED: its ``fee`` step starts
workflows.d/stall-fee.yaml as a child execution, waits for it, and reads its outputs."""

from __future__ import annotations

from govflow.bootstrap import Container
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import ROOT, CollectingQueue, install_workflow, step_rows


async def test_the_market_stall_permit_completes_with_the_child_s_fee(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, (ROOT / "workflows.d" / "stall-fee.yaml").read_text())
        await install_workflow(
            conn, (ROOT / "workflows.d" / "market-stall-permit.yaml").read_text()
        )
    queue = engine.queue
    assert isinstance(queue, CollectingQueue)
    started = await engine.start_execution(
        StartRequest(
            workflow="market-stall-permit",
            inputs={"applicant": "Ada", "length_m": 4, "days": 10, "food": True},
        )
    )
    runner = engine.step_runner()
    await runner.run(started.first_step_id)  # type: ignore[arg-type]
    # The parent waits; its child's first step was woken: run it, and what its end wakes.
    while queue.woken:
        await runner.run(queue.woken.pop(0))
    async with engine.db.pool.acquire() as conn:
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
        steps = await step_rows(conn, started.execution_id)
    assert status == "COMPLETED", [s["error"] for s in steps]
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("register", "COMPLETED"),
        ("fee", "COMPLETED"),
        ("tell_applicant", "COMPLETED"),
        ("outputs", "COMPLETED"),
    ]
    view = await engine.execution_reader.get(started.execution_id, None)
    assert view is not None
    assert view.outputs == {"fee": 180.0}
    child = view.steps[1].child_execution_id
    assert child is not None
    child_view = await engine.execution_reader.get(child, None)
    assert child_view is not None
    assert child_view.workflow == "stall-fee"
    assert child_view.outputs == {"fee": 180.0, "rate": 4.5}
