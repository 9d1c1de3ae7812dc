"""A manager's controls on a task page: Assign, Close, Cancel, Reactivate and Delete, each shown
only when the lifecycle's ``allowed_actions`` allows it, with errors at their field."""

from __future__ import annotations

from typing import Any

import httpx
from selenium.webdriver.support.ui import Select

from govflow.core.roles import Role
from govflow.core.statuses import HumanTaskStatus
from tests.browser.console import Console
from tests.browser.people import PASSWORD, add_people
from tests.support.api_server import ApiServer

MANAGER = "mia@permits.example.org"
OTHER_MANAGER = "mo@permits.example.org"
OPERATOR = "otto@permits.example.org"
MANAGER_BUTTONS = {"Assign", "Close", "Cancel task", "Reactivate", "Delete"}


async def _standalone_task(url: str, **extra: Any) -> str:
    """A task opened by the MANAGER through the API, offered to the department's operators."""
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
        login = await client.post("/auth/login", json={"email": MANAGER, "password": PASSWORD})
        assert login.status_code == 200, login.text
        body = {"title": "Inspect the site at 4 Elm Street", "offered_to": {"role": "OPERATOR"}}
        created = await client.post(
            "/tasks",
            json=body | extra,
            headers={"Authorization": f"Bearer {login.json()['data']['access_token']}"},
        )
        assert created.status_code == 201, created.text
        return str(created.json()["data"]["id"])


async def _people(database_url: str) -> None:
    await add_people(
        database_url,
        (MANAGER, Role.MANAGER.value, "urban-planning"),
        (OTHER_MANAGER, Role.MANAGER.value, "urban-planning"),
        (OPERATOR, Role.OPERATOR.value, "urban-planning"),
    )


def _status(console: Console) -> str:
    return console.find("#task-status").text


def _press(console: Console, button: str, status: HumanTaskStatus) -> None:
    console.button(button).click()
    console.wait(lambda: _status(console) == status.value)


def _choose(console: Console, select: str, email: str) -> None:
    choices = Select(console.find(select))
    [value] = [o.get_attribute("value") for o in choices.options if f"({email}," in o.text]
    choices.select_by_value(str(value))


async def test_a_manager_assigns_cancels_reactivates_and_deletes_a_task(
    console: Console, api_server: ApiServer, database_url: str
) -> None:
    await _people(database_url)
    task_id = await _standalone_task(api_server.url)
    console.sign_in(MANAGER, PASSWORD)
    console.visit(f"/ui/tasks/{task_id}")
    console.wait(lambda: _status(console) == HumanTaskStatus.OPEN.value)
    assert MANAGER_BUTTONS & set(console.buttons()) == {"Assign", "Cancel task"}

    console.button("Assign").click()  # nobody chosen
    console.wait(lambda: console.error_at("assign_user_id"))
    assert "choose a user" in console.error_at("assign_user_id")
    assert console.find("#assign_user_id").get_attribute("aria-invalid") == "true"
    _choose(console, "#assign_user_id", OTHER_MANAGER)  # the task is offered to operators
    console.button("Assign").click()
    console.wait(lambda: console.error_at("assign_user_id"))
    assert "may not work on this task" in console.error_at("assign_user_id")
    assert _status(console) == HumanTaskStatus.OPEN.value
    console.shot("task-assign-error")
    _choose(console, "#assign_user_id", OPERATOR)
    console.fill("assign_reason", "Otto is on site this week")
    _press(console, "Assign", HumanTaskStatus.ASSIGNED)
    assert "Otto is on site this week" in console.find("ol.records").text
    assert MANAGER_BUTTONS & set(console.buttons()) == {"Assign", "Cancel task"}

    # The reason is bounded as the API's is (the browser's maxlength removed to send more).
    console.driver.execute_script("document.getElementById('cancel_reason').maxLength = 5000")
    console.fill("cancel_reason", "x" * 2001)
    console.button("Cancel task").click()
    console.wait(lambda: console.error_at("cancel_reason"))
    assert "at most 2000 characters" in console.error_at("cancel_reason")
    assert _status(console) == HumanTaskStatus.ASSIGNED.value
    console.fill("cancel_reason", "A duplicate of the inspection opened yesterday")
    _press(console, "Cancel task", HumanTaskStatus.CANCELED)
    assert MANAGER_BUTTONS & set(console.buttons()) == {"Reactivate", "Delete"}
    console.shot("task-canceled")

    console.fill("reactivate_reason", "Not a duplicate after all")
    _press(console, "Reactivate", HumanTaskStatus.OPEN)
    assert "not assigned" in console.find("main").text
    assert MANAGER_BUTTONS & set(console.buttons()) == {"Assign", "Cancel task"}
    _press(console, "Cancel task", HumanTaskStatus.CANCELED)
    _press(console, "Delete", HumanTaskStatus.DELETED)
    assert MANAGER_BUTTONS & set(console.buttons()) == set()
    records = console.find("ol.records").text
    for recorded in ("CANCEL", "REACTIVATE", "DELETE"):
        assert recorded in records.upper()
    console.visit("/ui/tasks?box=department")
    assert not console.has(f'a[href="/ui/tasks/{task_id}"]')


async def test_a_manager_closes_a_submitted_task_and_an_operator_sees_no_manager_controls(
    console: Console, api_server: ApiServer, database_url: str
) -> None:
    await _people(database_url)
    task_id = await _standalone_task(api_server.url)
    console.sign_in(OPERATOR, PASSWORD)
    console.visit(f"/ui/tasks/{task_id}")
    console.wait(lambda: _status(console) == HumanTaskStatus.OPEN.value)
    assert MANAGER_BUTTONS & set(console.buttons()) == set()
    _press(console, "Claim", HumanTaskStatus.ASSIGNED)
    _press(console, "Start", HumanTaskStatus.IN_PROGRESS)
    assert MANAGER_BUTTONS & set(console.buttons()) == set()
    _press(console, "Submit", HumanTaskStatus.SUBMITTED)
    assert MANAGER_BUTTONS & set(console.buttons()) == set()
    console.sign_out()

    console.sign_in(MANAGER, PASSWORD)
    console.visit(f"/ui/tasks/{task_id}")
    console.wait(lambda: _status(console) == HumanTaskStatus.SUBMITTED.value)
    assert MANAGER_BUTTONS & set(console.buttons()) == {"Close", "Cancel task"}
    console.fill("close_reason", "Inspection report filed")
    console.shot("task-close")
    _press(console, "Close", HumanTaskStatus.CLOSED)
    assert "Inspection report filed" in console.find("ol.records").text
    assert MANAGER_BUTTONS & set(console.buttons()) == {"Delete"}
    _press(console, "Delete", HumanTaskStatus.DELETED)
    assert "Nothing for you to do" in console.find("main").text
