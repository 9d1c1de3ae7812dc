"""Password reset through the real server (``govflow api``, production argon2 parameters):
the request is answered before its email is sent, and a flood of bogus confirmations neither
hashes anything nor slows a login down."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from govflow.settings import Settings
from tests.support.api_server import ApiServer, add_user, audit_rows
from tests.support.peers import LOOPBACK, SmtpServer, wait_until

pytestmark = pytest.mark.e2e

EMAIL = "reset.owner@example.org"
PASSWORD = "Correct-Horse-9-battery"
NEW_PASSWORD = "Brand-new-Passw0rd-7"

FLOOD_LIMITS = httpx.Limits(max_connections=100, keepalive_expiry=1.0)
"""The flood's client: 100 connections, none reused after a second idle. Both httpx and uvicorn
default to five seconds of keep-alive, so on a loaded machine the client could send a request on
a connection the server is closing at that moment (a ``ReadError``, not the server's answer)."""


class HeldRelay:
    """A TCP relay to an SMTP server that holds every connection until :meth:`release`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.connections = 0
        self.port = 0
        self._released = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def release(self) -> None:
        self._released.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await self._released.wait()
        upstream_reader, upstream_writer = await asyncio.open_connection(LOOPBACK, self.target_port)
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(65536):
                sink.write(chunk)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()

    async def stop(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@contextlib.asynccontextmanager
async def mail_through_relay() -> AsyncIterator[tuple[SmtpServer, HeldRelay]]:
    smtp = SmtpServer()
    await smtp.start()
    relay = HeldRelay(smtp.port)
    await relay.start()
    try:
        yield smtp, relay
    finally:
        await relay.stop()
        await smtp.stop()


def metric(text: str, lane: str) -> float:
    found = re.search(rf'^govflow_password_hashes_total{{lane="{lane}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


async def test_reset_request_is_answered_before_the_email_is_sent(settings: Settings) -> None:
    database_url = str(settings.database_url)
    await add_user(database_url, EMAIL, PASSWORD)
    async with mail_through_relay() as (smtp, relay):
        env = {
            "GOVFLOW_PLUGIN_NOTIFICATION_SMTP_HOST": LOOPBACK,
            "GOVFLOW_PLUGIN_NOTIFICATION_SMTP_PORT": str(relay.port),
        }
        async with (
            ApiServer(settings, **env) as server,
            httpx.AsyncClient(base_url=server.url, timeout=5) as client,
        ):
            unknown = await client.post(
                "/auth/password-reset/request", json={"email": "nobody@example.org"}
            )
            known = await client.post("/auth/password-reset/request", json={"email": EMAIL})
            assert unknown.status_code == known.status_code == 202
            assert unknown.content == known.content
            assert smtp.messages == []  # the answer came while the mail server was held
            await wait_until(lambda: relay.connections == 1, timeout=10)
            relay.release()
            await wait_until(lambda: len(smtp.messages) == 1, timeout=10)
            assert relay.connections == 1
            message = smtp.messages[0].message
            assert message["To"] == EMAIL
            token = re.search(r"Reset token: (\S+)", message.get_content())
            assert token is not None
            confirmed = await client.post(
                "/auth/password-reset/confirm",
                json={"token": token.group(1), "new_password": NEW_PASSWORD},
            )
            assert confirmed.status_code == 200, confirmed.text
            login = await client.post(
                "/auth/login", json={"email": EMAIL, "password": NEW_PASSWORD}
            )
            assert login.status_code == 200
    assert len(await audit_rows(database_url, "PASSWORD_RESET_REQUESTED")) == 1


async def test_bogus_confirmations_neither_hash_nor_slow_logins(settings: Settings) -> None:
    """A flood of confirmations with bogus tokens hashes nothing (the hashing pools' counters
    show only the two logins' verifications), so a login during it waits for no hashing of
    theirs; how long it takes on a busy machine is not what is asserted."""
    await add_user(str(settings.database_url), EMAIL, PASSWORD)
    async with (
        ApiServer(settings) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30, limits=FLOOD_LIMITS) as client,
    ):
        before = (await client.get("/metrics")).text
        warm = await client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert warm.status_code == 200

        async def bogus(i: int) -> int:
            response = await client.post(
                "/auth/password-reset/confirm",
                json={"token": f"bogus-token-{i}", "new_password": NEW_PASSWORD},
            )
            return response.status_code

        flood = [asyncio.create_task(bogus(i)) for i in range(300)]
        login = await client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
        statuses = await asyncio.gather(*flood)
        after = (await client.get("/metrics")).text
    assert login.status_code == 200
    assert sorted(set(statuses)) == [400, 429]
    assert statuses.count(400) == settings.login_max_attempts
    assert metric(after, "background") == metric(before, "background")
    assert metric(after, "login") == metric(before, "login") + 2
