"""Schedule triggers on a real PostgreSQL, with a settable clock: one execution per slot
however many schedulers fire at once, none lost when schedulers stop and start again, and the
catch-up policies."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from govflow.adapters.db.triggers import PgTriggerReader
from govflow.bootstrap import Container
from govflow.usecases.errors import NotFoundError
from govflow.usecases.schedule_triggers import ScheduleFirer
from govflow.usecases.trigger_views import workflow_triggers
from tests.support.engine import install_workflow

WORKFLOW = """
name: ticking
title: Ticking
department: general-administration
inputs:
  who: {type: string}
triggers:
  schedule:
    cron: "*/10 * * * * *"
    timezone: Europe/Paris
    catch_up: CATCH_UP
    inputs: {who: clock}
steps:
  - {id: first, action: echo, with: {value: "{{ inputs.who }}"}}
"""
T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


async def _install(engine: Container, catch_up: str = "latest") -> UUID:
    async with engine.db.pool.acquire() as conn:
        return await install_workflow(conn, WORKFLOW.replace("CATCH_UP", catch_up))


async def _slots(engine: Container, workflow_id: UUID) -> list[str]:
    rows = await engine.db.pool.fetch(
        "SELECT idempotency_key FROM executions WHERE workflow_id = $1 ORDER BY 1", workflow_id
    )
    return [datetime.fromisoformat(r[0].split(":", 2)[2]).strftime("%H:%M:%S") for r in rows]


async def _audit(engine: Container, workflow_id: UUID) -> list[tuple[str, object]]:
    rows = await engine.db.pool.fetch(
        "SELECT action, metadata->>'slot' AS slot, metadata->>'count' AS count FROM audit_logs "
        "WHERE entity_type = 'workflow' AND entity_id = $1 AND action LIKE 'TRIGGER_%' "
        "ORDER BY id",
        str(workflow_id),
    )
    return [(r["action"], r["slot"] or r["count"]) for r in rows]


async def test_two_schedulers_firing_together_start_one_execution_per_slot(
    engine: Container,
) -> None:
    workflow_id = await _install(engine)
    schedulers = [engine.schedule_firer(), engine.schedule_firer()]
    await schedulers[0].fire_once(T0)  # first seen: the bookmark, nothing fires
    assert await _slots(engine, workflow_id) == []
    for tick in range(1, 7):  # every 5 s for 30 s, both schedulers at the same instant
        now = T0 + timedelta(seconds=5 * tick)
        reports = await asyncio.gather(*(s.fire_once(now) for s in schedulers))
        assert sum(r.fired for r in reports) in (0, 1)
    assert await _slots(engine, workflow_id) == ["12:00:10", "12:00:20", "12:00:30"]
    keys = await engine.db.pool.fetch(
        "SELECT inputs->>'who' AS who, created_by FROM executions WHERE workflow_id = $1",
        workflow_id,
    )
    assert {(r["who"], r["created_by"]) for r in keys} == {("clock", None)}
    fired = [slot for action, slot in await _audit(engine, workflow_id)]
    assert [a for a, _ in await _audit(engine, workflow_id)] == ["TRIGGER_SCHEDULE_FIRED"] * 3
    assert fired == ["2026-11-27T12:00:10+00:00", "2026-11-27T12:00:20+00:00",
                     "2026-11-27T12:00:30+00:00"]  # fmt: skip


async def test_many_schedulers_racing_on_the_same_slots_never_start_one_twice(
    engine: Container,
) -> None:
    workflow_id = await _install(engine, "all")
    await engine.schedule_firer().fire_once(T0)
    now = T0 + timedelta(seconds=50)
    reports = await asyncio.gather(*(engine.schedule_firer().fire_once(now) for _ in range(6)))
    assert sum(r.fired for r in reports) == 5
    assert await _slots(engine, workflow_id) == [
        "12:00:10", "12:00:20", "12:00:30", "12:00:40", "12:00:50"
    ]  # fmt: skip


async def test_a_scheduler_started_after_a_stop_fires_the_slots_it_missed_under_all(
    engine: Container,
) -> None:
    workflow_id = await _install(engine, "all")
    await _first_tick(engine, T0)
    await engine.schedule_firer().fire_once(T0 + timedelta(seconds=10))
    # Every scheduler stops for five minutes; a new one starts.
    report = await engine.schedule_firer().fire_once(T0 + timedelta(minutes=5, seconds=1))
    assert report.fired == 29
    assert report.missed == 0
    slots = await _slots(engine, workflow_id)
    assert len(slots) == 30
    assert slots[0] == "12:00:10"
    assert slots[-1] == "12:05:00"
    assert len(set(slots)) == 30


async def test_latest_fires_the_newest_missed_slot_and_audits_the_others(
    engine: Container,
) -> None:
    workflow_id = await _install(engine, "latest")
    await _first_tick(engine, T0)
    report = await engine.schedule_firer().fire_once(T0 + timedelta(minutes=5, seconds=1))
    # 12:00:10 .. 12:04:00 are late (more than a minute): the newest of them fires; the slots
    # of the last minute are on time and fire too.
    assert await _slots(engine, workflow_id) == [
        "12:04:00", "12:04:10", "12:04:20", "12:04:30", "12:04:40", "12:04:50", "12:05:00"
    ]  # fmt: skip
    assert report.missed == 23
    audit = await _audit(engine, workflow_id)
    assert audit[-1] == ("TRIGGER_SCHEDULE_MISSED", "23")


async def test_none_skips_every_missed_slot(engine: Container) -> None:
    workflow_id = await _install(engine, "none")
    await _first_tick(engine, T0)
    report = await engine.schedule_firer().fire_once(T0 + timedelta(minutes=5, seconds=1))
    assert report.missed == 24
    assert await _slots(engine, workflow_id) == [
        "12:04:10", "12:04:20", "12:04:30", "12:04:40", "12:04:50", "12:05:00"
    ]  # fmt: skip
    again = await engine.schedule_firer().fire_once(T0 + timedelta(minutes=5, seconds=2))
    assert again.fired == 0
    assert again.missed == 0


async def test_a_scheduler_dying_before_moving_the_bookmark_loses_no_slot(
    engine: Container,
) -> None:
    workflow_id = await _install(engine, "none")
    await _first_tick(engine, T0)

    class Dies(Exception):
        pass

    class DyingStore:
        def __init__(self, inner: object) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

        async def advance(self, *args: object) -> bool:
            raise Dies

    firer = engine.schedule_firer()
    firer._store = DyingStore(firer._store)  # type: ignore[assignment]
    with contextlib.suppress(Dies):
        await firer.fire_once(T0 + timedelta(seconds=21))
    assert await _slots(engine, workflow_id) == ["12:00:10", "12:00:20"]
    report = await engine.schedule_firer().fire_once(T0 + timedelta(seconds=31))
    assert (report.fired, report.taken) == (1, 2)
    assert await _slots(engine, workflow_id) == ["12:00:10", "12:00:20", "12:00:30"]


async def test_a_deactivated_workflow_fires_nothing(engine: Container) -> None:
    workflow_id = await _install(engine, "all")
    await _first_tick(engine, T0)
    await engine.db.pool.execute(
        "UPDATE workflows SET is_active = false WHERE id = $1", workflow_id
    )
    report = await engine.schedule_firer().fire_once(T0 + timedelta(minutes=1))
    assert report.fired == 0
    assert await _slots(engine, workflow_id) == []


async def _first_tick(engine: Container, now: datetime) -> None:
    """The first tick: the schedule is seen and bookmarked at ``now``."""
    firer: ScheduleFirer = engine.schedule_firer()
    await firer.fire_once(now)


FAILING = """
name: failing-tick
title: Failing tick
department: general-administration
inputs:
  parts: {type: integer, default: 0}
vars:
  share: "{{ 100 // inputs.parts }}"
triggers:
  schedule: {cron: "*/10 * * * * *"}
steps:
  - {id: first, action: echo, with: {value: "{{ vars.share }}"}}
"""


async def test_a_slot_whose_start_is_refused_is_audited_once_and_not_retried(
    engine: Container,
) -> None:
    async with engine.db.pool.acquire() as conn:
        workflow_id = await install_workflow(conn, FAILING)
    await _first_tick(engine, T0)
    report = await engine.schedule_firer().fire_once(T0 + timedelta(seconds=10))
    assert report.failed == 1
    again = await engine.schedule_firer().fire_once(T0 + timedelta(seconds=11))
    assert again.failed == 0
    assert await _slots(engine, workflow_id) == []
    rows = await engine.db.pool.fetch(
        "SELECT action, reason, department_id FROM audit_logs WHERE entity_id = $1 "
        "AND action LIKE 'TRIGGER_%'",
        str(workflow_id),
    )
    assert [r["action"] for r in rows] == ["TRIGGER_SCHEDULE_FAILED"]
    assert "vars.share" in rows[0]["reason"]
    assert rows[0]["department_id"] is not None


async def test_the_triggers_view_shows_the_last_and_next_fire(engine: Container) -> None:
    workflow_id = await _install(engine, "latest")
    await _first_tick(engine, T0)
    await engine.schedule_firer().fire_once(T0 + timedelta(seconds=25))
    view = await engine.workflow_triggers(workflow_id, None)
    assert view.schedule is not None
    assert view.webhook is None
    assert view.schedule.cron == "*/10 * * * * *"
    assert view.schedule.last_fired_slot == T0 + timedelta(seconds=20)
    assert view.schedule.last_execution_id is not None
    assert view.schedule.next_fire is not None
    assert view.schedule.next_fire > datetime.now(UTC) - timedelta(seconds=1)
    assert [(e.action, e.slot) for e in view.recent] == [
        ("TRIGGER_SCHEDULE_FIRED", "2026-11-27T12:00:20+00:00"),
        ("TRIGGER_SCHEDULE_FIRED", "2026-11-27T12:00:10+00:00"),
    ]
    other_department = await engine.db.pool.fetchval("SELECT gen_random_uuid()")
    with pytest.raises(NotFoundError):
        await engine.workflow_triggers(workflow_id, other_department)


SEVERAL = """
name: two-clocks
title: Two clocks
department: general-administration
inputs:
  who: {type: string}
triggers:
  schedule:
    - cron: "*/10 * * * * *"
      inputs: {who: tens}
    - cron: "*/15 * * * * *"
      timezone: Europe/Paris
      catch_up: none
      inputs: {who: fifteens}
steps:
  - {id: first, action: echo, with: {value: "{{ inputs.who }}"}}
"""


async def test_each_schedule_of_a_list_fires_its_own_slots_once(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        workflow_id = await install_workflow(conn, SEVERAL)
    schedulers = [engine.schedule_firer(), engine.schedule_firer()]
    await schedulers[0].fire_once(T0)  # both entries seen: their bookmarks
    marks = await engine.db.pool.fetch(
        "SELECT entry FROM trigger_schedules WHERE workflow_id = $1 ORDER BY entry", workflow_id
    )
    assert [m["entry"] for m in marks] == [0, 1]
    for tick in range(1, 7):
        now = T0 + timedelta(seconds=5 * tick)
        await asyncio.gather(*(s.fire_once(now) for s in schedulers))
    rows = await engine.db.pool.fetch(
        "SELECT idempotency_key, inputs->>'who' AS who FROM executions WHERE workflow_id = $1 "
        "ORDER BY idempotency_key",
        workflow_id,
    )
    started = [(r["idempotency_key"].split(":", 3)[2], r["who"]) for r in rows]
    # 12:00:30 is a slot of both entries: one execution each (the key names the entry).
    assert sorted(started) == [("0", "tens")] * 3 + [("1", "fifteens")] * 2
    keys = [r["idempotency_key"] for r in rows]
    assert f"schedule:{workflow_id}:0:2026-11-27T12:00:30+00:00" in keys
    assert f"schedule:{workflow_id}:1:2026-11-27T12:00:30+00:00" in keys
    entries = await engine.db.pool.fetch(
        "SELECT metadata->>'entry' AS entry FROM audit_logs WHERE entity_id = $1 "
        "AND action = 'TRIGGER_SCHEDULE_FIRED'",
        str(workflow_id),
    )
    assert sorted(e["entry"] for e in entries) == ["0", "0", "0", "1", "1"]

    # The API's view: each entry with its own last and next fire.
    view = await workflow_triggers(
        PgTriggerReader(engine.db.pool),
        workflow_id,
        None,
        now=T0 + timedelta(seconds=30),
        secret_known=lambda name: False,
    )
    assert [(s.entry, s.cron, s.inputs) for s in view.schedules] == [
        (0, "*/10 * * * * *", {"who": "tens"}),
        (1, "*/15 * * * * *", {"who": "fifteens"}),
    ]
    assert view.schedule == view.schedules[0]
    assert [s.last_fired_slot for s in view.schedules] == [T0 + timedelta(seconds=30)] * 2
    assert [s.next_fire for s in view.schedules] == [
        T0 + timedelta(seconds=40),
        T0 + timedelta(seconds=45),
    ]
