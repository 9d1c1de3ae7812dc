"""The database roles GovFlow runs as: the owner migrates, ``govflow_app`` does the rest.

``govflow_app`` is a NOLOGIN group role created by migration 0007 with only the privileges the
application needs (no DDL; the audit tables: ``SELECT`` and ``INSERT`` only). Every pooled
connection of the API, the worker and the scheduler asks for it in its startup packet
(``role=govflow_app``), so the privileges hold even when ``DATABASE_URL`` names a superuser:
the role is the session's default, which ``RESET ROLE`` and ``RESET ALL`` return to.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

APP_ROLE = "govflow_app"
EMBEDDED_LOGIN = "govflow"
"""The login ``govflow up`` creates in the embedded cluster for the API, worker and scheduler."""


class RoleError(Exception):
    """A database role cannot be set up as GovFlow needs it; the message says what to do."""


def url_user(url: str) -> str | None:
    """The user a ``postgresql://`` URL names, if any."""
    user = urlsplit(url).username
    return unquote(user) if user else None


def with_user(url: str, user: str, password: str) -> str:
    """``url`` with its credentials replaced."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def grant_app_role(conn: asyncpg.Connection, login: str) -> bool:
    """Make ``login`` a member of ``govflow_app`` unless it is one (or a superuser) already.

    Returns ``True`` when this call granted it.
    """
    row = await conn.fetchrow(
        "SELECT rolsuper, pg_has_role(oid, $2, 'MEMBER') AS member FROM pg_roles "
        "WHERE rolname = $1",
        login,
        APP_ROLE,
    )
    if row is None:
        raise RoleError(f"the database role {login!r} does not exist")
    if row["rolsuper"] or row["member"]:
        return False
    try:
        await conn.execute(f"GRANT {APP_ROLE} TO {_identifier(login)}")
    except asyncpg.InsufficientPrivilegeError:
        raise RoleError(
            f"cannot make {login!r} a member of {APP_ROLE}; as a superuser run: "
            f"GRANT {APP_ROLE} TO {_identifier(login)}"
        ) from None
    return True


async def ensure_login_role(conn: asyncpg.Connection, login: str, password: str) -> None:
    """Create (or update) a non-superuser login role ``login`` that acts as ``govflow_app``."""
    exists = await conn.fetchval("SELECT true FROM pg_roles WHERE rolname = $1", login)
    verb = "ALTER" if exists else "CREATE"
    await conn.execute(
        f"{verb} ROLE {_identifier(login)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
        f"NOREPLICATION NOBYPASSRLS PASSWORD {_literal(password)}"
    )
    await grant_app_role(conn, login)


def _kept_secret(path: Path) -> str:
    """A random secret kept in ``path`` (created ``0600`` by the first caller)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(24)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    return secret


async def embedded_app_url(owner_url: str, home: Path) -> str:
    """The URL the processes of ``govflow up`` use on the embedded cluster: a plain login that
    acts as ``govflow_app``, with a password kept in ``home/db_password``."""
    password = _kept_secret(home / "db_password")
    conn = await asyncpg.connect(owner_url)
    try:
        await ensure_login_role(conn, EMBEDDED_LOGIN, password)
    finally:
        await conn.close()
    return with_user(owner_url, EMBEDDED_LOGIN, password)
