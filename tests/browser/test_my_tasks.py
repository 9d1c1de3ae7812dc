"""My tasks in the browser: building-permit's review carried through by an OPERATOR and a
MANAGER of urban-planning, four eyes, another department's task, keyboard only."""

from __future__ import annotations

import asyncpg
import pytest
from selenium.webdriver.common.keys import Keys

from govflow.core.roles import Role
from govflow.core.statuses import ExecutionStatus, HumanTaskStatus
from tests.browser.console import Console
from tests.browser.people import add_people
from tests.browser.permits import execution_status, install_permit_review, start_permit
from tests.support.api_server import ApiServer
from tests.support.engine import eventually

OPERATOR = "olga@permits.example.org"
MANAGER = "max@permits.example.org"
OUTSIDER = "paul@works.example.org"

pytestmark = pytest.mark.usefixtures("worker")


async def _prepared(database_url: str, server: ApiServer) -> str:
    await add_people(
        database_url,
        (OPERATOR, Role.OPERATOR.value, "urban-planning"),
        (MANAGER, Role.MANAGER.value, "urban-planning"),
        (OUTSIDER, Role.MANAGER.value, "public-works"),
    )
    workflow_id = await install_permit_review(database_url)
    return await start_permit(server.url, workflow_id, OPERATOR)


async def _task_id(database_url: str, execution_id: str) -> str:
    async def probe() -> str | None:
        conn = await asyncpg.connect(database_url)
        try:
            found = await conn.fetchval(
                "SELECT id::text FROM human_tasks WHERE execution_id = $1::uuid", execution_id
            )
        finally:
            await conn.close()
        return None if found is None else str(found)

    found = await eventually(probe, lambda value: value is not None, timeout=60)
    assert found is not None
    return found


def _status(console: Console) -> str:
    return console.find("#task-status").text


async def test_the_permit_review_is_carried_through_in_the_browser(
    console: Console, api_server: ApiServer, database_url: str
) -> None:
    execution_id = await _prepared(database_url, api_server)
    task_id = await _task_id(database_url, execution_id)

    console.sign_in(OPERATOR, "Correct-Horse-9-battery")
    console.visit("/ui/tasks?box=eligible")
    console.wait(lambda: console.has(f'a[href="/ui/tasks/{task_id}"]'))
    assert "Eligible for me 1" in console.find("ul.tabs").text.replace("\n", " ")
    console.shot("my-tasks")
    console.find(f'a[href="/ui/tasks/{task_id}"]').click()
    console.wait(lambda: _status(console) == HumanTaskStatus.OPEN.value)
    assert console.buttons() == ["Claim", "Comment"]
    console.button("Claim").click()
    console.wait(lambda: _status(console) == HumanTaskStatus.ASSIGNED.value)
    console.button("Start").click()
    console.wait(lambda: _status(console) == HumanTaskStatus.IN_PROGRESS.value)

    assert console.find("#form-recommendation").tag_name == "select"
    assert console.find("#form-recommendation").get_attribute("required") == "true"
    assert console.find("#form-floor_area").get_attribute("type") == "number"
    console.find("#form-recommendation").send_keys("grant")
    console.fill("form.floor_area", "-5")
    console.shot("task-form")
    console.button("Submit").click()
    console.wait(lambda: console.error_at("form.floor_area"))
    assert "at least 1" in console.error_at("form.floor_area")
    assert console.error_at("form.recommendation") == ""
    assert console.find("#form-floor_area").get_attribute("aria-invalid") == "true"
    console.shot("task-form-error")
    console.fill("form.floor_area", "120")
    console.button("Submit").click()
    console.wait(lambda: _status(console) == HumanTaskStatus.SUBMITTED.value)
    assert "Approve" not in console.buttons()  # four eyes: the submitter may not review
    console.sign_out()

    console.sign_in(MANAGER, "Correct-Horse-9-battery")
    console.visit("/ui/tasks?box=eligible")
    console.wait(lambda: console.has(f'a[href="/ui/tasks/{task_id}"]'))
    console.find(f'a[href="/ui/tasks/{task_id}"]').click()
    console.wait(lambda: "Approve" in console.buttons())
    assert "120" in console.find("dl").text
    console.shot("task-review")
    console.fill("comment", "complete")
    console.button("Approve").click()
    console.wait(lambda: _status(console) == HumanTaskStatus.CLOSED.value)
    assert "complete" in console.find("ol.records").text

    async def status() -> str:
        return await execution_status(database_url, execution_id)

    done = await eventually(status, lambda s: s != ExecutionStatus.RUNNING.value, timeout=60)
    assert done == ExecutionStatus.COMPLETED.value


async def test_another_departments_task_is_not_found(
    console: Console, api_server: ApiServer, database_url: str
) -> None:
    execution_id = await _prepared(database_url, api_server)
    task_id = await _task_id(database_url, execution_id)
    console.sign_in(OUTSIDER, "Correct-Horse-9-battery")
    console.visit(f"/ui/tasks/{task_id}")
    assert console.find("h1").text == "Not found"
    assert task_id not in console.driver.page_source
    console.shot("not-found")
    console.visit("/ui/tasks?box=department")
    assert not console.has(f'a[href="/ui/tasks/{task_id}"]')


def _tab_to(console: Console, matches: str, limit: int = 60) -> None:
    """Press TAB until the element matching the CSS selector ``matches`` has the focus."""
    for _ in range(limit):
        focused = console.driver.switch_to.active_element
        if console.driver.execute_script(
            "return arguments[0].matches(arguments[1])", focused, matches
        ):
            return
        focused.send_keys(Keys.TAB)
    raise AssertionError(f"{matches} never got the focus")


def _type(console: Console, text: str) -> None:
    console.driver.switch_to.active_element.send_keys(text)


def _enter(console: Console) -> None:
    console.driver.switch_to.active_element.send_keys(Keys.ENTER)


async def test_a_task_is_completed_with_the_keyboard_only(
    console: Console, api_server: ApiServer, database_url: str
) -> None:
    execution_id = await _prepared(database_url, api_server)
    task_id = await _task_id(database_url, execution_id)
    console.visit("/ui/login")
    console.find("body").send_keys(Keys.TAB)
    _tab_to(console, "#email")
    _type(console, OPERATOR)
    _tab_to(console, "#password")
    _type(console, "Correct-Horse-9-battery")
    _enter(console)
    console.wait(lambda: console.path.startswith("/ui/tasks"))
    _tab_to(console, 'a[href="/ui/tasks?box=eligible"]')
    _enter(console)
    console.wait(lambda: "box=eligible" in console.path)
    _tab_to(console, f'a[href="/ui/tasks/{task_id}"]')
    _enter(console)
    for button, after in (("Claim", "ASSIGNED"), ("Start", "IN_PROGRESS")):
        console.wait(lambda button=button: button in console.buttons())
        _tab_to(console, f'form[action$="/{button.lower()}"] button')
        _enter(console)
        console.wait(lambda after=after: _status(console) == after)
    _tab_to(console, "#form-recommendation")
    _type(console, "refuse")
    _tab_to(console, "#form-floor_area")
    _type(console, "80")
    _tab_to(console, "#task-form button")
    _enter(console)
    console.wait(lambda: _status(console) == HumanTaskStatus.SUBMITTED.value)
    console.shot("task-submitted")
