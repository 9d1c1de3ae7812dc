"""workflows.d/permit-consultation.yaml (needs: two consultations in parallel, then the
acknowledgment) runs to COMPLETED, with the fire-safety branch run or skipped."""

from __future__ import annotations

from uuid import UUID

import pytest

from govflow.bootstrap import Container
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import ROOT, install_workflow, step_rows

EXAMPLE = ROOT / "workflows.d" / "permit-consultation.yaml"


async def run_all(engine: Container, first: UUID) -> None:
    """Run every step woken, in the order woken, until none is left (one worker, in-process)."""
    queue: list[UUID] = engine.queue.woken  # type: ignore[attr-defined]
    done = 0
    await engine.step_runner().run(first)
    while done < len(queue):
        step_id = queue[done]
        done += 1
        await engine.step_runner().run(step_id)


@pytest.mark.parametrize(("floors", "fire_safety"), [(9, "COMPLETED"), (2, "SKIPPED")])
async def test_the_consultations_run_and_the_acknowledgment_waits_for_both(
    engine: Container, floors: int, fire_safety: str
) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, EXAMPLE.read_text())
    started = await engine.start_execution(
        StartRequest(
            workflow="permit-consultation",
            inputs={"reference": "BP-2031-17", "applicant": "Ada Lovelace", "floors": floors},
        )
    )
    assert started.first_step_id is not None
    await run_all(engine, started.first_step_id)
    async with engine.db.pool.acquire() as conn:
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
        steps = await step_rows(conn, started.execution_id)
    assert status == "COMPLETED"
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("register", "COMPLETED"),
        ("planning", "COMPLETED"),
        ("fire_safety", fire_safety),
        ("acknowledge", "COMPLETED"),
        ("outputs", "COMPLETED"),
    ]
    view = await engine.execution_reader.get(started.execution_id, None)
    assert view is not None
    assert view.outputs == {"fire_safety_consulted": fire_safety == "COMPLETED"}
