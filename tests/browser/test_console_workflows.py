"""Workflows in the console: upload with a problem shown at its line:col, validate, the version
page with its source and diagram, deactivate and activate with a reason, and starting an
execution from the form generated from the inputs."""

from __future__ import annotations

from govflow.core.roles import Role
from govflow.core.statuses import ExecutionStatus
from tests.browser.console import Console
from tests.browser.people import PASSWORD, add_people

MANAGER = "mia@city.example.org"
OPERATOR = "otto@city.example.org"

VALID = """name: parking-permit
title: Parking permit
department: general-administration
inputs:
  plate: {type: string, pattern: "^[A-Z]{2}-[0-9]{3}$", description: Licence plate}
  days: {type: integer, minimum: 1, maximum: 30, default: 7}
  zone: {type: enum, values: [north, south]}
  urgent: {type: boolean, default: false}
steps:
  - id: record
    action: notification
    with: {channel: log, message: "Permit for {{ inputs.plate }}"}
  - id: tell_urgent
    action: notification
    if: "inputs.urgent"
    with: {channel: log, message: "Urgent permit"}
"""

BROKEN = VALID.replace("    action: notification\n    if:", "    action: no-such-action\n    if:")


def _type_source(console: Console, text: str) -> None:
    """Put ``text`` in the source box as a person pasting it would."""
    console.driver.execute_script("document.getElementById('source').value = arguments[0]", text)


async def test_upload_shows_problems_at_line_and_column_then_a_valid_file_is_saved(
    console: Console, database_url: str
) -> None:
    await add_people(database_url, (MANAGER, Role.MANAGER.value, "general-administration"))
    console.sign_in(MANAGER, PASSWORD)
    console.visit("/ui/workflows")
    console.link("Upload or validate").click()
    console.wait(lambda: console.path == "/ui/workflows/upload")

    _type_source(console, BROKEN)
    console.fill("filename", "parking.yaml")
    console.button("Upload").click()
    console.wait(lambda: console.has("#problems"))
    problems = console.find("#problems").text
    # The unknown action is on line 14, column 13 of the file.
    assert "parking.yaml:14:13: steps[1].action:" in problems, problems
    assert "has-error" in (console.find("#line-14").get_attribute("class") or "")
    console.shot("workflow-upload-errors")

    _type_source(console, VALID)
    console.button("Validate only").click()
    console.wait(lambda: console.has("#validation-result"))
    assert "parking-permit is valid: 2 steps" in console.find("#validation-result").text
    console.visit("/ui/workflows")
    assert "parking-permit" not in console.find("main").text  # validating saved nothing

    console.visit("/ui/workflows/upload")
    _type_source(console, VALID)
    console.button("Upload").click()
    console.wait(lambda: "/versions/1" in console.path)
    assert "created" in console.find(".flash").text
    assert console.find("#workflow-state").text == "active"
    assert len(console.all(".diagram svg g.flow-step")) == 2
    assert "if inputs.urgent" in console.find(".diagram svg").text
    assert "pattern:" in console.find("pre.source").text
    console.shot("workflow-version")


async def test_deactivate_activate_and_start_from_the_generated_form(
    console: Console, database_url: str
) -> None:
    await add_people(
        database_url,
        (MANAGER, Role.MANAGER.value, "general-administration"),
        (OPERATOR, Role.OPERATOR.value, "general-administration"),
    )
    console.sign_in(MANAGER, PASSWORD)
    console.visit("/ui/workflows/upload")
    _type_source(console, VALID)
    console.button("Upload").click()
    console.wait(lambda: "/versions/1" in console.path)
    workflow_page = console.path.split("/versions/")[0]

    console.fill("reason", "Out of season")
    console.button("Deactivate parking-permit").click()
    console.wait(lambda: console.find("#workflow-state").text == "inactive")
    console.fill("reason", "Season open")
    console.button("Activate parking-permit").click()
    console.wait(lambda: console.find("#workflow-state").text == "active")
    console.sign_out()

    # An OPERATOR starts it from the form: a wrong plate is refused at its field.
    console.sign_in(OPERATOR, PASSWORD)
    console.visit("/ui/workflows")
    console.link("Start").click()
    console.wait(lambda: console.path == f"{workflow_page}/start")
    assert console.find("#input-days").get_attribute("value") == "7"
    assert console.find("#input-days").get_attribute("type") == "number"
    assert console.find("#input-zone").tag_name == "select"
    assert console.find("#input-urgent").get_attribute("type") == "checkbox"
    console.fill("input.plate", "not a plate")
    console.button("Start parking-permit").click()
    console.wait(lambda: console.error_at("input.plate"))
    assert "pattern" in console.error_at("input.plate")
    console.shot("workflow-start-errors")
    console.fill("input.plate", "AB-123")
    console.find("#input-urgent").click()
    console.button("Start parking-permit").click()
    console.wait(lambda: console.path.startswith("/ui/executions/"))
    assert console.find("#execution-status").text == ExecutionStatus.PENDING.value
    assert "parking-permit started" in console.find(".flash").text
    # The operator reads no definitions.
    console.visit(workflow_page)
    assert console.find("h1").text == "Not allowed"
