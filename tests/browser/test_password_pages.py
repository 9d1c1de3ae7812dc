"""The password pages in the browser: changing one's password, and a reset from the request to
the new password with the token the email brought (a real SMTP server on loopback receives it,
as in ``tests/e2e/test_password_reset_server.py``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from govflow.core.roles import Role
from govflow.http.console.auth_pages import RESET_SENT
from govflow.settings import Settings
from tests.browser.console import Console
from tests.browser.people import PASSWORD, add_people
from tests.support.api_server import ApiServer
from tests.support.peers import LOOPBACK, SmtpServer, wait_until

OPERATOR = "pia@permits.example.org"
NEW_PASSWORD = "Brand-new-Passw0rd-7"


def _flash(console: Console) -> str:
    found = console.all("p.flash")
    return found[0].text if found else ""


async def test_a_user_changes_their_password(console: Console, database_url: str) -> None:
    await add_people(database_url, (OPERATOR, Role.OPERATOR.value, "urban-planning"))
    console.sign_in(OPERATOR, PASSWORD)
    console.wait(lambda: console.path.startswith("/ui/tasks"))
    console.link(OPERATOR).click()
    console.wait(lambda: console.path == "/ui/password")
    console.shot("password-change")

    def change(current: str, new: str, again: str) -> None:
        console.fill("current_password", current)
        console.fill("new_password", new)
        console.fill("new_password_again", again)
        console.button("Change password").click()

    change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    console.wait(lambda: console.error_at("new_password_again"))
    assert "differ" in console.error_at("new_password_again")
    change("not-the-password", NEW_PASSWORD, NEW_PASSWORD)
    console.wait(lambda: console.error_at("current_password"))
    assert "incorrect" in console.error_at("current_password")
    assert console.find("#current_password").get_attribute("aria-invalid") == "true"
    change(PASSWORD, "short", "short")
    console.wait(lambda: console.error_at("new_password"))
    assert console.error_at("current_password") == ""
    console.shot("password-change-error")
    change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    console.wait(lambda: console.path.startswith("/ui/tasks"))
    assert _flash(console) == "Your password was changed."

    console.sign_out()
    console.sign_in(OPERATOR, PASSWORD)
    assert console.error_at("password")
    console.sign_in(OPERATOR, NEW_PASSWORD)
    console.wait(lambda: console.path.startswith("/ui/tasks"))


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_a_forgotten_password_is_reset_with_the_token_from_the_email(
    browser: WebDriver,
    screenshots: Path,
    settings: Settings,
    database_url: str,
    smtp: SmtpServer,
) -> None:
    await add_people(database_url, (OPERATOR, Role.OPERATOR.value, "urban-planning"))
    mail = {
        "GOVFLOW_PLUGIN_NOTIFICATION_SMTP_HOST": LOOPBACK,
        "GOVFLOW_PLUGIN_NOTIFICATION_SMTP_PORT": str(smtp.port),
    }
    async with ApiServer(settings, **mail) as server:
        console = Console(browser, server.url, screenshots)
        console.sign_out_everywhere()
        console.visit("/ui/login")
        console.link("Forgot your password?").click()
        console.wait(lambda: console.path == "/ui/password-reset")
        console.fill("email", "nobody@example.org")
        console.button("Send a reset token").click()
        console.wait(lambda: console.path.startswith("/ui/login"))
        assert _flash(console) == RESET_SENT  # the same answer for an unknown address
        console.link("Forgot your password?").click()
        console.wait(lambda: console.path == "/ui/password-reset")
        console.fill("email", OPERATOR)
        console.shot("password-reset-request")
        console.button("Send a reset token").click()
        console.wait(lambda: console.path.startswith("/ui/login"))
        assert _flash(console) == RESET_SENT
        await wait_until(lambda: len(smtp.messages) == 1, timeout=15)
        [message] = smtp.messages
        assert message.message["To"] == OPERATOR
        found = re.search(r"Reset token: (\S+)", message.message.get_content())
        assert found is not None
        token = found.group(1)

        console.link("Forgot your password?").click()
        console.wait(lambda: console.path == "/ui/password-reset")
        console.link("I have a reset token").click()
        console.wait(lambda: console.path.startswith("/ui/password-reset/confirm"))
        console.fill("token", "not-a-token")
        console.fill("new_password", NEW_PASSWORD)
        console.button("Set the password").click()
        console.wait(lambda: console.error_at("token"))
        console.fill("token", token)
        console.fill("new_password", "short")
        console.button("Set the password").click()
        console.wait(lambda: console.error_at("new_password"))
        assert console.error_at("token") == ""
        console.shot("password-reset-confirm-error")
        console.fill("new_password", NEW_PASSWORD)
        console.button("Set the password").click()
        console.wait(lambda: console.path.startswith("/ui/login"))
        assert "reset" in _flash(console)

        console.sign_in(OPERATOR, PASSWORD)
        assert console.error_at("password")
        console.sign_in(OPERATOR, NEW_PASSWORD)
        console.wait(lambda: console.path.startswith("/ui/tasks"))
        console.sign_out_everywhere()
