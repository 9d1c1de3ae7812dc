"""Development seed data: departments and one demo user per role. Idempotent."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from govflow.adapters.security.passwords import Passwords
from govflow.core.roles import Role

DEPARTMENTS = (
    ("general-administration", "General Administration"),
    ("urban-planning", "Urban Planning"),
    ("public-works", "Public Works"),
)

DEMO_USERS = (
    ("admin@govflow.local", "Demo Admin", Role.ADMIN, "general-administration"),
    ("manager@govflow.local", "Demo Manager", Role.MANAGER, "urban-planning"),
    ("operator@govflow.local", "Demo Operator", Role.OPERATOR, "urban-planning"),
)


@dataclass(frozen=True, slots=True)
class DemoCredential:
    email: str
    role: Role
    password: str


def _credentials_file(home: Path) -> Path:
    return home / "demo-users.txt"


def read_demo_credentials(home: Path) -> list[DemoCredential]:
    path = _credentials_file(home)
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        email, role, password = line.split("\t")
        rows.append(DemoCredential(email, Role(role), password))
    return rows


async def seed_departments(conn: asyncpg.Connection) -> int:
    created = 0
    for code, name in DEPARTMENTS:
        status = await conn.execute(
            "INSERT INTO departments (code, name) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING",
            code,
            name,
        )
        created += status.endswith(" 1")
    return created


async def seed_demo_users(
    conn: asyncpg.Connection, home: Path, passwords: Passwords
) -> list[DemoCredential]:
    """Create the demo users that do not exist yet; their passwords are kept under ``home``."""
    known = {c.email: c for c in read_demo_credentials(home)}
    result = []
    for email, full_name, role, department in DEMO_USERS:
        exists = await conn.fetchval("SELECT 1 FROM users WHERE lower(email) = lower($1)", email)
        if exists and email in known:
            result.append(known[email])
            continue
        if exists:
            continue
        password = known[email].password if email in known else _demo_password(role)
        await conn.execute(
            """INSERT INTO users (email, full_name, password_hash, role, department_id)
               VALUES ($1, $2, $3, $4, (SELECT id FROM departments WHERE code = $5))""",
            email,
            full_name,
            await passwords.hash(password),
            role,
            department,
        )
        result.append(DemoCredential(email, role, password))
    _write_credentials(home, result)
    return result


def _write_credentials(home: Path, credentials: list[DemoCredential]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    path = _credentials_file(home)
    path.write_text("".join(f"{c.email}\t{c.role}\t{c.password}\n" for c in credentials))
    path.chmod(0o600)


def _demo_password(role: Role) -> str:
    return f"{role.capitalize()}-{secrets.token_urlsafe(9)}-2a"
