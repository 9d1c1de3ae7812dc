"""``govflow api`` as an operator runs it: a real uvicorn process on a free loopback port.

The process gets the test's database, Redis key space and JWT secret; extra environment
variables (``TRUSTED_PROXIES``, plugin settings) are passed through. It runs in development
mode unless told otherwise, so passwords are hashed with the production argon2 parameters.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import asyncpg
import httpx

from govflow.adapters.security.passwords import Passwords
from govflow.settings import Settings
from tests.support.engine import ROOT, process_env
from tests.support.peers import closed_port


class ApiServer:
    """``async with ApiServer(settings, TRUSTED_PROXIES="...") as server: server.url``."""

    def __init__(self, settings: Settings, **env: str) -> None:
        self.settings = settings
        self.port = closed_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "GOVFLOW_MODE": "development",
            "GOVFLOW_PLUGINS_MODULES": "",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "API_WORKERS": "1",
            **env,
        }
        self.log_path: Path = settings.home / f"api-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    async def __aenter__(self) -> ApiServer:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "govflow", "api"],
                env=process_env(self.settings, **self.env),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        await self._wait_live(60.0)
        return self

    async def _wait_live(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=1.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"govflow api exited:\n{self.output()}")
                try:
                    if (await client.get("/livez")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"govflow api not live within {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, 20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            await asyncio.to_thread(self.process.wait)


async def add_user(database_url: str, email: str, password: str, role: str = "OPERATOR") -> None:
    """A user in a new department, with a production-strength password hash."""
    conn = await asyncpg.connect(database_url)
    try:
        department_id = await conn.fetchval(
            "INSERT INTO departments (code, name) VALUES ($1, $1) RETURNING id",
            f"DEPT_{email.split('@')[0][:20].upper().replace('.', '_')}",
        )
        await conn.execute(
            "INSERT INTO users (email, full_name, password_hash, role, department_id) "
            "VALUES ($1, $2, $3, $4, $5)",
            email,
            email,
            await Passwords().hash(password),
            role,
            department_id,
        )
    finally:
        await conn.close()


async def audit_rows(database_url: str, action: str) -> list[dict[str, object]]:
    """The metadata of the audit entries of ``action``, oldest first."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT metadata::text AS m FROM audit_logs WHERE action = $1 ORDER BY id", action
        )
    finally:
        await conn.close()
    return [json.loads(row["m"]) for row in rows]
