"""workflows.d/venue-booking.yaml (compensate, on_failure) runs to its documented end: with Jira
not configured the deposit cannot be recorded, the execution fails, the venue's hold is released
by its compensation and the booking desk is told why."""

from __future__ import annotations

import json

from govflow.bootstrap import Container
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import ROOT, CollectingQueue, install_workflow, step_rows

EXAMPLE = ROOT / "workflows.d" / "venue-booking.yaml"


async def test_a_booking_whose_deposit_cannot_be_recorded_releases_the_venue(
    engine: Container,
) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, EXAMPLE.read_text())
    inputs = {
        "issue_key": "HALL-42",
        "venue": "Salle des fêtes",
        "event_date": "2031-06-21",
        "association": "Chorale du quartier",
    }
    started = await engine.start_execution(StartRequest(workflow="venue-booking", inputs=inputs))
    assert started.first_step_id is not None
    await engine.step_runner().run(started.first_step_id)
    queue = engine.queue
    assert isinstance(queue, CollectingQueue)
    while queue.woken:  # the handlers, released by the failure, run as a worker runs them
        await engine.step_runner().run(queue.woken.pop(0))
    async with engine.db.pool.acquire() as conn:
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
        steps = await step_rows(conn, started.execution_id)
    assert status == "FAILED"
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("hold_venue", "COMPLETED"),
        ("record_deposit", "FAILED"),
        ("confirm", "PENDING"),
        ("compensate.hold_venue", "COMPLETED"),
        ("on_failure.tell_desk", "COMPLETED"),
    ]
    assert "Jira is not configured" in json.loads(steps[1]["error"])["message"]
