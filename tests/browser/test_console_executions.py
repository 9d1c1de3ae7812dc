"""Executions in the console: the list with its filters, an execution's page with every step
on the timeline and in the diagram, and the operator actions with their required reason."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import httpx

from govflow.core.roles import Role
from govflow.core.statuses import ExecutionStatus, StepStatus
from tests.browser.console import Console
from tests.browser.people import PASSWORD, add_people
from tests.support.api_server import ApiServer
from tests.support.engine import install_workflow

MANAGER = "mia@city.example.org"
OPERATOR = "otto@city.example.org"

THREE_STEPS = """
name: three-steps
title: Three steps
department: general-administration
inputs:
  who: {type: string, default: world}
steps:
  - id: hello
    action: notification
    with: {channel: log, message: "Hello, {{ inputs.who }}!"}
  - id: never
    action: notification
    if: "inputs.who == 'nobody'"
    with: {channel: log, message: "skipped"}
  - id: goodbye
    action: notification
    with: {channel: log, message: "Goodbye, {{ inputs.who }}!"}
"""


async def _prepare(database_url: str) -> None:
    await add_people(
        database_url,
        (MANAGER, Role.MANAGER.value, "general-administration"),
        (OPERATOR, Role.OPERATOR.value, "general-administration"),
    )
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, THREE_STEPS)
    finally:
        await conn.close()


async def _start(server: ApiServer, email: str, inputs: dict[str, str]) -> UUID:
    async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as client:
        login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
        token = login.json()["data"]["access_token"]
        started = await client.post(
            "/workflows/three-steps/executions",
            json={"inputs": inputs},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert started.status_code == 201, started.text
        return UUID(started.json()["data"]["execution_id"])


async def test_the_execution_page_shows_completed_with_every_step(
    console: Console, api_server: ApiServer, database_url: str, worker: None
) -> None:
    await _prepare(database_url)
    execution_id = await _start(api_server, MANAGER, {"who": "Ada"})
    console.sign_in(MANAGER, PASSWORD)
    console.visit("/ui/executions")
    console.wait(lambda: console.has(f'a[href="/ui/executions/{execution_id}"]'))
    # The list refreshes by itself until the execution completes.
    completed = ExecutionStatus.COMPLETED.value
    console.wait(lambda: completed in console.find("#execution-rows").text, timeout=30)
    console.shot("executions-list")

    console.find(f'a[href="/ui/executions/{execution_id}"]').click()
    console.wait(lambda: console.find("#execution-status").text == completed, timeout=30)
    steps = console.all("ol.timeline > li.step")
    assert [s.get_attribute("id") for s in steps] == ["step-hello", "step-never", "step-goodbye"]
    statuses = [s.find_element("css selector", "h3 .badge").text for s in steps]
    assert statuses == [
        StepStatus.COMPLETED.value,
        StepStatus.SKIPPED.value,
        StepStatus.COMPLETED.value,
    ]
    diagram = console.find(".diagram svg")
    assert diagram.get_attribute("role") == "img"
    drawn = [g.text for g in console.all(".diagram svg g.flow-step")]
    assert len(drawn) == 3
    assert console.all(".diagram svg g.flow-step.status-skipped")
    # No operator action is offered on a completed execution.
    assert "Cancel the execution" not in console.buttons()
    console.shot("execution-completed")
    # On a phone the page is one column and nothing is wider than the screen.
    console.driver.set_window_size(390, 844)
    try:
        console.visit(f"/ui/executions/{execution_id}")
        overflow = "return document.documentElement.scrollWidth - window.innerWidth"
        console.shot("execution-phone")
        assert console.driver.execute_script(overflow) <= 0
    finally:
        console.driver.set_window_size(1280, 900)


async def test_the_list_filters_and_an_operator_sees_no_operator_action(
    console: Console, api_server: ApiServer, database_url: str
) -> None:
    await _prepare(database_url)
    mine = await _start(api_server, OPERATOR, {"who": "Otto"})
    other = await _start(api_server, MANAGER, {"who": "Mia"})
    # No worker: both stay PENDING.
    console.sign_in(MANAGER, PASSWORD)
    console.visit("/ui/executions?status=COMPLETED")
    assert "No executions match." in console.find("#execution-rows").text
    console.visit("/ui/executions?status=PENDING&workflow=three-steps")
    console.wait(lambda: len(console.all("#execution-rows tbody tr")) == 2)
    console.visit("/ui/executions?status=BOGUS&started_from=yesterday")
    assert console.error_at("status") == "not a status"
    assert "date" in console.error_at("started_from")
    assert console.find("#status").get_attribute("aria-invalid") == "true"
    console.shot("executions-filter-errors")

    # A MANAGER cancels, giving a reason; an empty reason is refused at the field.
    console.visit(f"/ui/executions/{other}")
    console.driver.execute_script(  # the server refuses an empty reason too
        "document.querySelectorAll('textarea').forEach(e => e.removeAttribute('required'))"
    )
    console.button("Cancel the execution").click()
    console.wait(lambda: console.error_at("cancel-reason"))
    assert "reason" in console.error_at("cancel-reason")
    console.fill("reason", "Filed twice by mistake")
    console.button("Cancel the execution").click()
    console.wait(lambda: console.find("#execution-status").text == ExecutionStatus.CANCELED.value)
    assert "canceled" in console.find(".flash").text.lower()
    console.shot("execution-canceled")
    console.sign_out()

    # An OPERATOR sees its own execution, without operator actions, and not the other one.
    console.sign_in(OPERATOR, PASSWORD)
    console.visit("/ui/executions")
    console.wait(lambda: console.has(f'a[href="/ui/executions/{mine}"]'))
    assert not console.has(f'a[href="/ui/executions/{other}"]')
    console.visit(f"/ui/executions/{mine}")
    assert console.find("#execution-status").text == ExecutionStatus.PENDING.value
    assert "Cancel the execution" not in console.buttons()
    # The live region polls with what it shows; an unchanged execution answers 204 (no swap).
    poll = console.find("#execution-live").get_attribute("hx-get")
    assert poll
    assert "?since=" in poll
    fetch = "return fetch(arguments[0]).then(r => r.status)"
    assert console.driver.execute_script(fetch, poll) == 204
    assert console.driver.execute_script(fetch, poll.split("?")[0] + "?since=stale") == 200
    console.visit(f"/ui/executions/{other}")
    assert console.find("h1").text == "Not found"


async def test_a_page_open_when_its_execution_ends_is_drawn_again_whole(
    console: Console, api_server: ApiServer, database_url: str
) -> None:
    await _prepare(database_url)
    execution_id = await _start(api_server, MANAGER, {"who": "Ada"})  # no worker: PENDING
    console.sign_in(MANAGER, PASSWORD)
    console.visit(f"/ui/executions/{execution_id}")
    assert "Cancel the execution" in console.buttons()
    console.driver.execute_script("window.drawnBefore = true")
    async with httpx.AsyncClient(base_url=api_server.url, timeout=10.0) as client:
        login = await client.post("/auth/login", json={"email": MANAGER, "password": PASSWORD})
        token = login.json()["data"]["access_token"]
        canceled = await client.post(
            f"/workflow-executions/{execution_id}/cancel",
            json={"reason": "Withdrawn by the applicant"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert canceled.status_code == 200, canceled.text
    # The next poll finds it ended: the page is loaded again, not only its live region, so the
    # actions outside that region are those of a canceled execution.
    console.wait(lambda: not console.driver.execute_script("return window.drawnBefore === true"))
    assert console.find("#execution-status").text == ExecutionStatus.CANCELED.value
    assert "Cancel the execution" not in console.buttons()
    assert console.find("#execution-live").get_attribute("hx-get") is None


async def test_a_manager_resolves_a_step_that_needs_attention(
    console: Console, api_server: ApiServer, database_url: str
) -> None:
    await _prepare(database_url)
    execution_id = await _start(api_server, MANAGER, {"who": "Ada"})
    # The first step's worker could not tell whether its effect happened (no worker runs here:
    # the state such an attempt leaves is written directly).
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE execution_steps SET status = $2 WHERE execution_id = $1 AND step_key = $3",
            execution_id,
            StepStatus.NEEDS_ATTENTION.value,
            "hello",
        )
        await conn.execute(
            "UPDATE executions SET status = $2 WHERE id = $1",
            execution_id,
            ExecutionStatus.NEEDS_ATTENTION.value,
        )
    finally:
        await conn.close()
    console.sign_in(MANAGER, PASSWORD)
    console.visit(f"/ui/executions/{execution_id}")
    assert console.find("#execution-status").text == ExecutionStatus.NEEDS_ATTENTION.value
    assert "Retry from the failed step" not in console.buttons()
    console.find('input[name="resolution"][value="skip"]').click()
    console.find("#resolve-hello-reason").send_keys("Sent by hand already")
    console.button("Resolve hello").click()
    console.wait(lambda: "hello resolved" in console.find(".flash").text)
    step = console.find("#step-hello h3 .badge").text
    assert step == StepStatus.SKIPPED.value
    assert "Resolve hello" not in console.buttons()
    console.shot("execution-resolved")


HOLD = """
name: hold-a-day
title: Hold for a day
department: general-administration
steps:
  - id: hold
    action: wait
    with: {for: 1d}
  - id: after
    action: notification
    with: {channel: log, message: "held until {{ steps.hold.output.due_at }}"}
"""


async def test_a_manager_fires_a_waiting_timer_from_the_page(
    console: Console, api_server: ApiServer, database_url: str, worker: None
) -> None:
    await _prepare(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, HOLD)
    finally:
        await conn.close()
    async with httpx.AsyncClient(base_url=api_server.url, timeout=10.0) as client:
        login = await client.post("/auth/login", json={"email": MANAGER, "password": PASSWORD})
        token = login.json()["data"]["access_token"]
        started = await client.post(
            "/workflows/hold-a-day/executions",
            json={"inputs": {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert started.status_code == 201, started.text
        execution_id = UUID(started.json()["data"]["execution_id"])
    console.sign_in(MANAGER, PASSWORD)
    console.visit(f"/ui/executions/{execution_id}")
    waiting = ExecutionStatus.WAITING.value
    console.wait(lambda: console.find("#execution-status").text == waiting, timeout=30)
    console.visit(f"/ui/executions/{execution_id}")  # the whole page, with the timer's form
    assert "Timer due" in console.find("#step-hold").text
    console.find("#step-hold details.fire-timer summary").click()
    console.find("#fire-hold-reason").send_keys("The applicant waived the waiting period")
    console.find("#fire-hold").click()
    console.wait(lambda: "fired" in console.find(".flash").text.lower())
    completed = ExecutionStatus.COMPLETED.value
    console.wait(lambda: console.find("#execution-status").text == completed, timeout=30)
    assert '"fired_early": true' in console.find("#step-hold").get_attribute("innerHTML")
    assert not console.has("#fire-hold")
    console.shot("execution-timer-fired")
