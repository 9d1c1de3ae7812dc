"""The operator's commands: migrate, seed and users create, run as subprocesses."""

from __future__ import annotations

import subprocess
import sys

import asyncpg

from govflow.settings import Settings
from tests.support.engine import ROOT, process_env


def govflow(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = process_env(settings, GOVFLOW_MODE="development")
    return subprocess.run(
        [sys.executable, "-m", "govflow", *args],
        input=stdin, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


async def test_migrate_seed_and_create_the_first_admin(
    settings: Settings, database_url: str
) -> None:
    migrated = govflow(settings, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip() == "applied 0 migration(s)"  # the template is migrated
    first = govflow(settings, "seed")
    second = govflow(settings, "seed")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout  # idempotent: the same users, the same passwords
    assert "admin@govflow.local" in first.stdout

    created = govflow(
        settings, "users", "create", "--email", "chief@city.example", "--role", "admin",
        "--department", "urban-planning", stdin="Str0ng-enough-pass\nStr0ng-enough-pass\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "created user chief@city.example (ADMIN)" in created.stdout

    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT u.role, d.code, u.password_hash FROM users u JOIN departments d "
            "ON d.id = u.department_id WHERE u.email = 'chief@city.example'"
        )
        audited = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE action = 'USER_CREATED'"
        )
        users = await conn.fetchval("SELECT count(*) FROM users")
    finally:
        await conn.close()
    assert (row["role"], row["code"]) == ("ADMIN", "urban-planning")
    assert row["password_hash"].startswith("$argon2id$")
    assert audited == 1
    assert users == 4


def test_users_create_refuses_bad_input_and_writes_nothing(settings: Settings) -> None:
    weak = govflow(
        settings, "users", "create", "--email", "a@b.example", "--role", "OPERATOR",
        stdin="short\nshort\n",
    )  # fmt: skip
    assert weak.returncode == 1
    assert "password: must be at least 12 characters long" in weak.stderr
    unknown = govflow(
        settings, "users", "create", "--email", "a@b.example", "--role", "OPERATOR",
        "--department", "atlantis", stdin="Str0ng-enough-pass\nStr0ng-enough-pass\n",
    )  # fmt: skip
    assert unknown.returncode == 1
    assert "--department: no department with code 'atlantis'" in unknown.stderr
    role = govflow(settings, "users", "create", "--email", "a@b.example", "--role", "KING")
    assert role.returncode == 2
    assert "'KING' is not one of" in role.stderr
