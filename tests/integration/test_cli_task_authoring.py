"""``govflow tasks create`` and ``govflow tasks edit`` as processes on real PostgreSQL: a task
opened with people by email, a department by code, a form and notify channels, then edited;
each refusal is the API's, one line naming the same field, exit status 1."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from uuid import UUID

from govflow.bootstrap import Container
from govflow.core.roles import Role
from govflow.settings import Settings
from tests.support.doc_examples import blocks
from tests.support.engine import ROOT, process_env


def govflow(settings: Settings, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govflow", *shlex.split(command)],
        env=process_env(settings, GOVFLOW_PLUGINS_MODULES=""),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _people(services: Container) -> dict[str, UUID]:
    ids = {}
    async with services.db.pool.acquire() as conn:
        department = await conn.fetchval(
            "INSERT INTO departments (code, name) VALUES ('registry', 'Registry') RETURNING id"
        )
        ids["registry"] = department
        for email, role in [
            ("clerk@example.org", Role.OPERATOR),
            ("boss@example.org", Role.MANAGER),
        ]:
            ids[email] = await conn.fetchval(
                "INSERT INTO users (email, full_name, password_hash, role, department_id)"
                " VALUES ($1, $1, 'x', $2, $3) RETURNING id",
                email,
                role.value,
                department,
            )
    return ids


async def test_a_task_is_created_and_edited_from_the_command_line(
    settings: Settings, services: Container
) -> None:
    ids = await _people(services)
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "govflow",
            *shlex.split(
                "tasks create --as boss@example.org --title 'Archive the 2019 files' "
                "--department registry --offer-role OPERATOR --offer-department registry "
                "--reviewer-user boss@example.org --due-in 2d --form-json - "
                """--notify '{"channel": "log", "on": ["created", "claimed"]}' --json"""
            ),
        ],
        input='{"boxes": {"type": "integer", "required": true, "min": 1}}',
        env=process_env(settings, GOVFLOW_PLUGINS_MODULES=""),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    task = json.loads(created.stdout)
    assert (task["title"], task["status"], task["version"]) == ("Archive the 2019 files", "OPEN", 1)
    assert task["department_id"] == str(ids["registry"])
    assert task["offered_to"] == {
        "users": [],
        "role": "OPERATOR",
        "department_id": str(ids["registry"]),
    }
    assert task["reviewers"]["users"] == [str(ids["boss@example.org"])]
    assert task["due_at"] is not None
    async with services.db.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT notify::text, form::text FROM human_tasks WHERE id = $1", UUID(task["id"])
        )
        keys = await conn.fetch(
            "SELECT key FROM task_notifications WHERE task_id = $1", UUID(task["id"])
        )
    assert row is not None
    assert json.loads(row["notify"]) == [{"channel": "log", "on": ["created", "claimed"]}]
    assert json.loads(row["form"])["boxes"]["min"] == 1
    assert [r["key"] for r in keys] == [f"task:{task['id']}:created:v1:0"]

    edited = govflow(
        settings,
        f"tasks edit {task['id']} --as boss@example.org --title 'Archive the 2019 boxes' "
        "--due-at 2099-01-31T17:00:00+00:00 --reason 'more time'",
    )
    assert edited.returncode == 0, edited.stderr
    offered = "assignee: none, offered to role OPERATOR, department registry"
    assert edited.stdout == f"task {task['id']} is OPEN; {offered}\n"
    stale = govflow(
        settings, f"tasks edit {task['id']} --as boss@example.org --version 1 --description x"
    )
    assert stale.returncode == 1
    assert stale.stderr == (
        "govflow: version: the task is at version 2, not 1; read it again (stale_version)\n"
    )
    shown = govflow(settings, f"tasks show {task['id']} --json")
    shown_task = json.loads(shown.stdout)["task"]
    assert (shown_task["title"], shown_task["version"]) == ("Archive the 2019 boxes", 2)
    assert shown_task["due_at"].startswith("2099-01-31T17:00:00")


async def test_create_and_edit_refuse_as_the_api_does_naming_the_field(
    settings: Settings, services: Container
) -> None:
    await _people(services)
    base = "tasks create --as boss@example.org --title 'Check the files'"
    for options, line in [
        (
            """--notify '{"channel": "webhook"}'""",
            "notify[0].url: the webhook channel needs `url`",
        ),
        (
            """--notify '{"channel": "log"}' --notify '{"channel": "log", "to": ["a@b.org"]}'""",
            "notify[1].to: `to` does not apply to the log channel",
        ),
        (
            """--notify '{"channel": "email", "on": ["someday"]}'""",
            "notify[0].on[0]: Invalid enum value 'someday'",
        ),
        ("--notify 'not json'", "--notify: value 1 is not JSON (Expecting value)"),
        ("--approvals 0", "approvals: Expected `int` >= 1"),
        ("--approvals 2", "approvals: more than one approval asks for reviewers"),
        ("--due-in 2x", "due_in: Expected `str` matching regex"),
        ("--assignee nobody@example.org", "--assignee: no user 'nobody@example.org'"),
        ("--department nowhere", "--department: no department 'nowhere'"),
    ]:
        refused = govflow(settings, f"{base} {options}")
        assert refused.returncode == 1, (options, refused.stdout)
        assert refused.stderr.startswith(f"govflow: {line}"), (options, refused.stderr)
        assert refused.stderr.count("\n") == 1, refused.stderr
    clerk = govflow(settings, "tasks create --as clerk@example.org --title 'Check the files'")
    assert clerk.returncode == 1
    assert clerk.stderr.endswith("(role_forbidden)\n"), clerk.stderr
    async with services.db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM human_tasks") == 0

    opened = govflow(settings, f"{base} --json")
    task_id = json.loads(opened.stdout)["id"]
    nothing = govflow(settings, f"tasks edit {task_id} --as boss@example.org")
    assert nothing.returncode == 1
    assert nothing.stderr == "govflow: body: name at least one of title, description, due_at\n"
    blank = govflow(settings, f"tasks edit {task_id} --as boss@example.org --title ''")
    assert blank.returncode == 1
    assert blank.stderr.startswith("govflow: title: Expected `str` of length >= 1"), blank.stderr


def documented_commands() -> list[list[str]]:
    """The ``govflow tasks create`` example of docs/human-tasks.md, each command's words."""
    (block,) = [
        block
        for block in blocks(ROOT / "docs" / "human-tasks.md")
        if block.lang == "sh" and "govflow tasks create" in block.text
    ]
    return [shlex.split(line) for line in block.text.splitlines() if line.strip()]


async def test_the_documented_create_and_edit_run_as_typed(
    settings: Settings, services: Container
) -> None:
    """``3b8d...`` stands for the id the first command prints."""
    commands = documented_commands()
    assert [words[:3] for words in commands] == [
        ["govflow", "tasks", "create"],
        ["govflow", "tasks", "edit"],
    ]
    await _people(services)
    created = govflow(settings, shlex.join(commands[0][1:]))
    assert created.returncode == 0, created.stderr
    found = re.fullmatch(
        r"task (\S+) is OPEN; assignee: none, offered to role OPERATOR\n", created.stdout
    )
    assert found is not None, created.stdout
    task_id = found.group(1)
    edited = govflow(
        settings, shlex.join([task_id if w == "3b8d..." else w for w in commands[1][1:]])
    )
    assert edited.returncode == 0, edited.stderr
    assert edited.stdout == created.stdout
    async with services.db.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT due_at, notify::text, version FROM human_tasks WHERE id = $1", UUID(task_id)
        )
        whys = await conn.fetch(
            "SELECT why FROM task_notifications WHERE task_id = $1", UUID(task_id)
        )
    assert row is not None
    assert (row["due_at"].year, row["version"]) == (2099, 2)
    assert json.loads(row["notify"])[0]["on"] == ["created", "submitted", "rejected"]
    assert [r["why"] for r in whys] == ["created"]
