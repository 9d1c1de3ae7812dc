"""The ``api`` fixture: the app over real PostgreSQL and Redis, users of every role in two
departments, and their tokens."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar import Litestar

from govflow.adapters.security.passwords import Passwords
from govflow.adapters.security.tokens import AccessTokens
from govflow.bootstrap import Container
from govflow.http.app import create_app, signing_secret
from govflow.settings import Settings
from tests.support.engine import CollectingQueue

PASSWORD = "Correct-Horse-9-battery"
ROLES = ("ADMIN", "MANAGER", "OPERATOR")
DEPARTMENTS = ("A", "B")


@dataclass
class Account:
    id: uuid.UUID
    email: str
    role: str
    department: str
    department_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class ApiHarness:
    app: Litestar
    client: httpx.AsyncClient
    services: Container
    settings: Settings
    tokens: AccessTokens
    departments: dict[str, uuid.UUID] = field(default_factory=dict)
    users: dict[tuple[str, str], Account] = field(default_factory=dict)
    _hash: str = ""

    def user(self, role: str, department: str = "A") -> Account:
        return self.users[(role, department)]

    def headers(self, role: str, department: str = "A") -> dict[str, str]:
        return self.user(role, department).headers

    async def add_department(self, code: str) -> uuid.UUID:
        department_id: uuid.UUID = await self.services.db.pool.fetchval(
            "INSERT INTO departments (code, name) VALUES ($1, $2) RETURNING id",
            code,
            f"Dept {code}",
        )
        return department_id

    async def add_user(
        self, role: str, department: str = "A", *, email: str | None = None, active: bool = True
    ) -> Account:
        email = email or f"{role.lower()}.{department.lower()}.{uuid.uuid4().hex[:6]}@example.org"
        department_id = self.departments[department]
        row = await self.services.db.pool.fetchrow(
            "INSERT INTO users (email, full_name, password_hash, role, department_id, is_active) "
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, token_version",
            email,
            f"{role.title()} {department}",
            self._hash,
            role,
            department_id,
            active,
        )
        token = self.tokens.issue(
            row["id"], role=role, department_id=department_id, token_version=row["token_version"]
        )
        return Account(row["id"], email, role, department, department_id, token)

    async def audit_actions(self) -> list[str]:
        rows = await self.services.db.pool.fetch("SELECT action FROM audit_logs ORDER BY id")
        return [row["action"] for row in rows]

    async def count(self, table: str) -> int:
        # The table name is a literal of the calling test, never input.
        return int(await self.services.db.pool.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608


@contextlib.asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """The app's lifespan, entered and exited in one task of its own (anyio requires it)."""
    started = asyncio.Event()
    stop = asyncio.Event()

    async def run() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()
    try:
        yield
    finally:
        stop.set()
        await task


@pytest.fixture
async def api(settings: Settings, services: Container) -> AsyncIterator[ApiHarness]:
    app = create_app(settings, services)
    tokens = AccessTokens(
        signing_secret(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.jwt_access_ttl_seconds,
    )
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://govflow.test") as client:
            harness = ApiHarness(app, client, services, settings, tokens)
            harness._hash = await Passwords(cheap=True).hash(PASSWORD)
            for code in DEPARTMENTS:
                harness.departments[code] = await harness.add_department(f"DEPT_{code}")
            for role in ROLES:
                for code in DEPARTMENTS:
                    harness.users[(role, code)] = await harness.add_user(role, code)
            yield harness


def body(response: httpx.Response) -> Any:
    return response.json()


@pytest.fixture
def queue(api: ApiHarness) -> CollectingQueue:
    """The API's wake-ups are collected instead of sent: the test runs the steps itself."""
    collecting = CollectingQueue()
    api.services.queue = collecting  # type: ignore[assignment]
    return collecting
