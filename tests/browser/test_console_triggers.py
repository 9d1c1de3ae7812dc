"""A workflow's triggers on its console page: the schedule with its last and next fire, the
webhook's URL and whether its secret is configured, and the recent trigger events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from govflow.bootstrap import container
from govflow.core.roles import Role
from govflow.settings import Settings
from tests.browser.console import Console
from tests.browser.people import PASSWORD, add_people
from tests.support.engine import install_workflow

MANAGER = "mia@city.example.org"
TRIGGERED = """
name: nightly-sweep
title: Nightly sweep
department: general-administration
triggers:
  schedule: {cron: "0 2 * * *", timezone: Europe/Paris, catch_up: all}
  webhook: {secret: SWEEP_HOOK}
steps:
  - {id: log, action: notification, with: {channel: log, message: swept}}
"""


async def test_the_workflow_page_shows_its_triggers_and_their_events(
    console: Console, database_url: str, settings: Settings
) -> None:
    await add_people(database_url, (MANAGER, Role.MANAGER.value, "general-administration"))
    conn = await asyncpg.connect(database_url)
    try:
        workflow_id = await install_workflow(conn, TRIGGERED)
    finally:
        await conn.close()
    # The scheduler's ticks, with a clock set a day apart: one night's slot fires.
    seen = datetime.now(UTC) - timedelta(days=1, hours=1)
    async with container(settings) as services:
        firer = services.schedule_firer()
        await firer.fire_once(seen)
        report = await firer.fire_once(seen + timedelta(days=1))
    assert report.fired == 1

    console.sign_in(MANAGER, PASSWORD)
    console.visit(f"/ui/workflows/{workflow_id}")
    section = console.find("#triggers").text
    assert "0 2 * * * in Europe/Paris" in section
    assert console.find("#schedule-last").text != "never"
    assert console.find("#schedule-next").text.endswith("UTC")
    assert "POST /webhooks/nightly-sweep" in section
    assert "not configured" in console.find("#webhook-secret").text
    rows = console.all("table[aria-label='Recent trigger events'] tbody tr")
    assert len(rows) == 1
    assert "TRIGGER_SCHEDULE_FIRED" in rows[0].text
    rows[0].find_element("css selector", "a").click()
    console.wait(lambda: console.path.startswith("/ui/executions/"))
    console.shot("workflow-triggers")


SEVERAL = """
name: desk-bells
title: Desk bells
department: general-administration
triggers:
  schedule:
    - {cron: "0 8 * * *", timezone: Europe/Paris}
    - {cron: "30 17 * * *", catch_up: latest, inputs: {}}
steps:
  - {id: log, action: notification, with: {channel: log, message: rung}}
"""


async def test_the_workflow_page_shows_each_schedule_of_a_list(
    console: Console, database_url: str, settings: Settings
) -> None:
    await add_people(database_url, (MANAGER, Role.MANAGER.value, "general-administration"))
    conn = await asyncpg.connect(database_url)
    try:
        workflow_id = await install_workflow(conn, SEVERAL)
    finally:
        await conn.close()
    seen = datetime.now(UTC) - timedelta(days=1, hours=1)
    async with container(settings) as services:
        firer = services.schedule_firer()
        await firer.fire_once(seen)
        report = await firer.fire_once(seen + timedelta(days=1))
    assert report.fired == 2  # one slot of each entry in that day

    console.sign_in(MANAGER, PASSWORD)
    console.visit(f"/ui/workflows/{workflow_id}")
    assert console.find("#schedule-0-cron").text == "0 8 * * * in Europe/Paris"
    assert console.find("#schedule-1-cron").text == "30 17 * * * in UTC"
    for entry in (0, 1):
        assert console.find(f"#schedule-{entry}-last").text != "never"
        assert console.find(f"#schedule-{entry}-next").text.endswith("UTC")
    assert not console.has("#schedule-last")
    rows = console.all("table[aria-label='Recent trigger events'] tbody tr")
    assert sorted("(schedule 1)" in r.text for r in rows) == [False, True]
    console.shot("workflow-several-schedules")
