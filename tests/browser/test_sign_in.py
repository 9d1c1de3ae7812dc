"""Signing in and out of the console, and forms posted without their CSRF token."""

from __future__ import annotations

import httpx

from govflow.core.roles import Role
from tests.browser.console import Console
from tests.browser.people import PASSWORD, add_people
from tests.support.api_server import ApiServer

OPERATOR = "ada@permits.example.org"


async def test_an_operator_signs_in_sees_the_inbox_and_signs_out(
    console: Console, database_url: str
) -> None:
    await add_people(database_url, (OPERATOR, Role.OPERATOR.value, "urban-planning"))
    console.visit("/")
    console.wait(lambda: "/ui/login" in console.path)
    console.shot("sign-in")

    console.sign_in(OPERATOR, "not the password")
    assert "incorrect" in console.error_at("password").lower() or console.error_at("password")
    assert console.find("#password").get_attribute("aria-invalid") == "true"

    console.sign_in(OPERATOR, PASSWORD)
    console.wait(lambda: console.path.startswith("/ui/tasks"))
    assert console.find("h1").text == "My tasks"
    assert OPERATOR in console.find("header").text
    console.shot("my-tasks-empty")

    console.sign_out()
    console.visit("/ui/tasks")
    console.wait(lambda: "/ui/login" in console.path)


async def test_a_form_posted_without_its_csrf_token_is_refused(
    console: Console, api_server: ApiServer, database_url: str
) -> None:
    await add_people(database_url, (OPERATOR, Role.OPERATOR.value, "urban-planning"))
    async with httpx.AsyncClient(base_url=api_server.url, timeout=10.0) as client:
        page = await client.get("/ui/login")
        assert page.status_code == 200
        assert "govflow_csrf" in page.cookies
        bare = await client.post("/ui/login", data={"email": OPERATOR, "password": PASSWORD})
        assert bare.status_code == 403, bare.text
        assert "govflow_session" not in bare.cookies
        forged = await client.post(
            "/ui/login", data={"email": OPERATOR, "password": PASSWORD, "csrf_token": "forged"}
        )
        assert forged.status_code == 403
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        signed_in = await client.post(
            "/ui/login", data={"email": OPERATOR, "password": PASSWORD, "csrf_token": token}
        )
        assert signed_in.status_code == 303, signed_in.text
        session = signed_in.cookies.get("govflow_session")
        assert session
        set_cookie = signed_in.headers.get_list("set-cookie")
        strict = [c for c in set_cookie if "HttpOnly" in c and "samesite=strict" in c.lower()]
        assert strict, set_cookie
    # In the browser: a form whose token was removed is refused as well.
    console.sign_in(OPERATOR, PASSWORD)
    console.wait(lambda: console.path.startswith("/ui/tasks"))
    console.driver.execute_script(
        "document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())"
    )
    console.button("Sign out").click()
    console.wait(lambda: "Not allowed" in console.find("h1").text)
    console.shot("csrf-refused")
    console.visit("/ui/tasks")
    assert console.find("h1").text == "My tasks"
