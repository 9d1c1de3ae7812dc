"""Administration in the console: users for an ADMIN only, departments and the audit log for
ADMIN and MANAGER, nothing for an OPERATOR; forms refused at their field; the seal check."""

from __future__ import annotations

from govflow.core.audit_events import AuditEvent
from govflow.core.roles import Role
from tests.browser.console import Console
from tests.browser.people import PASSWORD, add_people

ADMIN = "ada@city.example.org"
MANAGER = "mia@city.example.org"
OPERATOR = "otto@city.example.org"
NOT_ALLOWED = "Not allowed"


async def test_admin_pages_are_reachable_by_admin_only(console: Console, database_url: str) -> None:
    await add_people(
        database_url,
        (ADMIN, Role.ADMIN.value, "general-administration"),
        (MANAGER, Role.MANAGER.value, "urban-planning"),
        (OPERATOR, Role.OPERATOR.value, "urban-planning"),
    )
    console.sign_in(ADMIN, PASSWORD)
    console.link("Administration").click()
    console.wait(lambda: console.find("h1").text == "Administration")
    console.link("Users").click()
    console.wait(lambda: console.find("h1").text == "Users")
    assert MANAGER in console.find("main table").text

    # A refused form shows the API schema's words at the field, and keeps what was typed
    # (the browser's own checks are switched off: the server's are under test).
    no_browser_checks = "document.querySelectorAll('form').forEach(f => f.noValidate = true)"
    console.driver.execute_script(no_browser_checks)
    console.fill("email", "not-an-email")
    console.fill("full_name", "Nadia New")
    console.fill("password", "Correct-Horse-9-battery")
    console.button("Create the user").click()
    console.wait(lambda: console.error_at("email"))
    assert console.find("#full_name").get_attribute("value") == "Nadia New"
    console.driver.execute_script(no_browser_checks)
    console.fill("email", "nadia@city.example.org")
    console.fill("password", "short")
    console.button("Create the user").click()
    console.wait(lambda: console.error_at("password"))
    console.fill("password", "Correct-Horse-9-battery")
    console.button("Create the user").click()
    console.wait(lambda: "nadia@city.example.org created" in console.find(".flash").text)
    console.shot("admin-users")

    console.link("Departments").click()
    console.wait(lambda: console.find("h1").text == "Departments")
    assert "urban-planning" in console.find("main table").text
    console.shot("admin-departments")

    console.link("Audit log").click()
    console.wait(lambda: console.find("h1").text == "Audit log")
    assert AuditEvent.USER_CREATED.value in console.find("#audit-entries").text
    console.fill("action", AuditEvent.USER_CREATED.value)
    console.button("Filter").click()
    console.wait(lambda: "action=" in console.path)
    events = {cell.text for cell in console.all("#audit-entries tbody td:nth-child(2)")}
    assert events == {AuditEvent.USER_CREATED.value}, events
    console.button("Verify the seals").click()
    console.wait(lambda: console.has("#seals .seal-ok") or console.has("#seals .seal-bad"))
    assert "Verified" in console.find("#seals").text
    console.shot("admin-audit")
    console.visit("/ui/admin/audit?day_from=tomorrow")
    assert "date" in console.error_at("day_from")
    console.sign_out()

    # A MANAGER reads departments and the audit log, but not users; no seal check.
    console.sign_in(MANAGER, PASSWORD)
    console.visit("/ui/admin/users")
    assert console.find("h1").text == NOT_ALLOWED
    console.visit("/ui/admin/audit")
    assert console.find("h1").text == "Audit log"
    assert not console.has("#seals")
    console.visit("/ui/admin/departments")
    assert console.find("h1").text == "Departments"
    assert "New department" not in console.find("main").text
    console.sign_out()

    # An OPERATOR has no Administration entry and every page of it is refused.
    console.sign_in(OPERATOR, PASSWORD)
    assert "Administration" not in console.find("header").text
    for page in ("", "/users", "/departments", "/audit"):
        console.visit(f"/ui/admin{page}")
        assert console.find("h1").text == NOT_ALLOWED, page
