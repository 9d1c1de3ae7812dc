"""An email's recipients by address and by role and/or department, resolved when the step runs
through the directory the host gives the plugin (PostgreSQL here, as in a worker)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import govflow_notification
import pytest

from govflow.adapters.db.directory import PgDirectory
from govflow.adapters.db.engine import Database
from govflow.adapters.db.seed import seed_departments
from govflow.core.roles import Role
from govflow.plugins import BusinessError, TechnicalError
from govflow.testing import make_context, run_action
from govflow.testing.started import StartedPlugin, started_plugin
from tests.support.peers import SmtpServer

PEOPLE = [
    ("Mia@City.example", Role.MANAGER, "urban-planning", True),
    ("otto@city.example", Role.OPERATOR, "urban-planning", True),
    ("max@city.example", Role.MANAGER, "public-works", True),
    ("gone@city.example", Role.MANAGER, "urban-planning", False),
    ("ada@city.example", Role.ADMIN, "general-administration", True),
]


@pytest.fixture
async def directory(database_url: str) -> AsyncIterator[PgDirectory]:
    conn = await asyncpg.connect(database_url)
    try:
        await seed_departments(conn)
        for email, role, department, active in PEOPLE:
            await conn.execute(
                "INSERT INTO users (email, full_name, password_hash, role, department_id, "
                "is_active) VALUES ($1, $1, 'x', $2, "
                "(SELECT id FROM departments WHERE code = $3), $4)",
                email,
                role.value,
                department,
                active,
            )
    finally:
        await conn.close()
    db = Database(database_url, min_size=1, max_size=2)
    await db.start()
    try:
        yield PgDirectory(db)
    finally:
        await db.close()


@pytest.fixture
async def plugin(smtp_server: SmtpServer, directory: PgDirectory) -> AsyncIterator[StartedPlugin]:
    env = {
        "GOVFLOW_NOTIFICATION_SMTP_HOST": "127.0.0.1",
        "GOVFLOW_NOTIFICATION_SMTP_PORT": str(smtp_server.port),
    }
    async with started_plugin(
        govflow_notification, name="notification", env=env, directory=directory
    ) as started:
        yield started


def email(*to: Any) -> dict[str, Any]:
    return {"channel": "email", "message": "The permit was approved.", "to": list(to)}


async def test_groups_become_the_addresses_of_their_active_members(
    plugin: StartedPlugin, smtp_server: SmtpServer
) -> None:
    output = await plugin.run(
        "notification",
        email(
            "registry@city.example",
            {"role": "MANAGER", "department": "urban-planning"},
            {"department": "general-administration"},
            "mia@city.example",  # already named by the group: one copy
        ),
    )
    expected = ["registry@city.example", "Mia@City.example", "ada@city.example"]
    assert output["to"] == expected
    (mail,) = smtp_server.messages
    assert mail.rcpt_tos == expected
    assert mail.message["To"] == ", ".join(expected)


async def test_a_role_alone_spans_the_departments(
    plugin: StartedPlugin, smtp_server: SmtpServer
) -> None:
    output = await plugin.run("notification", email({"role": "MANAGER"}))
    assert output["to"] == ["Mia@City.example", "max@city.example"]  # not the inactive one


@pytest.mark.parametrize(
    ("group", "problem"),
    [
        ({"department": "harbour"}, "to[1].department: no department has the code 'harbour'"),
        (
            {"role": "ADMIN", "department": "urban-planning"},
            "to[1]: no active user with the role ADMIN in department urban-planning",
        ),
    ],
)
async def test_a_group_naming_nobody_fails_the_step_and_sends_nothing(
    plugin: StartedPlugin, smtp_server: SmtpServer, group: dict[str, str], problem: str
) -> None:
    with pytest.raises(BusinessError) as caught:
        await plugin.run("notification", email("registry@city.example", group))
    assert str(caught.value) == problem
    assert smtp_server.messages == []


async def test_without_a_directory_only_addresses_can_be_named(
    smtp_server: SmtpServer,
) -> None:
    ctx = make_context(settings=smtp_server.settings())
    with pytest.raises(BusinessError, match="cannot look people up by role or department"):
        await run_action(govflow_notification.NotificationAction(), email({"role": "MANAGER"}), ctx)
    assert smtp_server.messages == []


async def test_a_directory_that_cannot_answer_is_a_technical_error(
    plugin: StartedPlugin, smtp_server: SmtpServer, directory: PgDirectory
) -> None:
    class Broken:
        async def departments(self, codes: Any) -> Any:
            raise ConnectionResetError("the database went away")

    resources = govflow_notification.NotificationResources(directory=Broken())  # type: ignore[arg-type]
    with pytest.raises(TechnicalError, match="could not be looked up"):
        await plugin.run(
            "notification", email({"department": "urban-planning"}), resources=resources
        )
    assert smtp_server.messages == []


@pytest.mark.parametrize(
    ("to", "problem"),
    [
        ([{}], "a recipient group names a role, a department or both"),
        (["not-an-address"], "to[0]: expects an email or a group"),
        ([{"role": "CLERK"}], "with.to[0].role"),
        ([{"department": "Urban Planning"}], "with.to[0].department"),
        ([{"role": "MANAGER", "team": "x"}], "team"),
    ],
)
async def test_malformed_recipients_are_refused_when_the_step_is_read(
    plugin: StartedPlugin, to: list[Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        await plugin.run("notification", email(*to))
