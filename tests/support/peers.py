"""Real peers on loopback for the notification channels: a webhook receiver and an SMTP server.

Both speak the real protocol over real sockets and refuse what a real one refuses:

- :class:`WebhookReceiver` is an ASGI endpoint served by uvicorn in the test's event loop. It
  behaves like an idempotent endpoint (draft-ietf-httpapi-idempotency-key-header): a request
  without ``Idempotency-Key`` is refused with 400, a body that is not JSON with 415 (wrong
  media type) or 400 (malformed); a repeated key replays the first answer without a second
  delivery, a key reused for another payload gets 422, a key still being processed 409. It can
  be told to answer 503/429/400... for the next requests, or to hold requests until released.
- :class:`SmtpServer` is an ``aiosmtpd`` server in the test's event loop, optionally with
  STARTTLS or implicit TLS (a self-signed certificate from ``openssl``) and AUTH; it records
  messages and can refuse recipients or drop the connection after ``DATA``.

The fixtures at the end start one of each per test and stop it afterwards, closing every
socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import shutil
import socket
import ssl
import subprocess
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from govflow_notification.settings import NotificationSettings

from govflow.testing import make_settings

LOOPBACK = "127.0.0.1"
MAX_KEY_LENGTH = 255

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` until it holds; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.005)


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
    return port


# -- webhook receiver ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as the receiver saw it; header names are lowercase."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A notification the receiver accepted (once per idempotency key)."""

    key: str
    path: str
    headers: dict[str, str]
    payload: Any


@dataclass(slots=True)
class _Fault:
    status: int
    remaining: int
    retry_after: str | None


@dataclass(frozen=True, slots=True)
class _Stored:
    fingerprint: str
    status: int
    body: bytes


class WebhookReceiver:
    """An idempotent JSON webhook endpoint on ``127.0.0.1``; see the module docstring.

    :ivar requests: every request received, with the status it was answered with.
    :ivar deliveries: the notifications accepted, one per idempotency key.
    :ivar replays: the number of answers replayed for a repeated key.
    """

    accepted_status = 202

    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []
        self.deliveries: list[Delivery] = []
        self.replays = 0
        self._faults: deque[_Fault] = deque()
        self._stored: dict[str, _Stored] = {}
        self._in_flight: set[str] = set()
        self._gate: asyncio.Event | None = None
        self._held = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/hooks/notify"

    @property
    def held(self) -> int:
        """Requests currently waiting at the gate (see :meth:`hold`)."""
        return self._held

    def fail_next(self, status: int, count: int = 1, *, retry_after: str | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` (and ``Retry-After``), before
        looking at them: nothing is recorded as delivered."""
        self._faults.append(_Fault(status, count, retry_after))

    def hold(self) -> None:
        """Hold every valid request before it is processed, until :meth:`release`."""
        self._gate = asyncio.Event()

    def release(self) -> None:
        if self._gate is not None:
            self._gate.set()
            self._gate = None

    # ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off; nothing else is served
            return
        body = await _read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        status, answer, extra = await self._answer(scope["method"], headers, body)
        self.requests.append(HttpRequest(scope["method"], scope["path"], headers, body, status))
        if status == self.accepted_status and "idempotent-replayed" not in extra:
            key = _key(headers)
            assert key is not None
            self.deliveries.append(Delivery(key, scope["path"], headers, json.loads(body)))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    *((k.encode(), v.encode()) for k, v in extra.items()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    async def _answer(
        self, method: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        if self._faults:
            fault = self._faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.popleft()
            extra = {"retry-after": fault.retry_after} if fault.retry_after else {}
            return fault.status, _error(f"injected {fault.status}"), extra
        if method != "POST":
            return 405, _error("only POST"), {"allow": "POST"}
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            return 415, _error(f"unsupported media type {media_type!r}"), {}
        try:
            json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 400, _error("the body is not valid JSON"), {}
        key = _key(headers)
        if not key:
            return 400, _error("the Idempotency-Key header is required"), {}
        if len(key) > MAX_KEY_LENGTH:
            return 400, _error("the Idempotency-Key is too long"), {}
        fingerprint = hashlib.sha256(body).hexdigest()
        stored = self._stored.get(key)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                return 422, _error("the Idempotency-Key was used for another payload"), {}
            self.replays += 1
            return stored.status, stored.body, {"idempotent-replayed": "true"}
        if key in self._in_flight:
            return 409, _error("a request with this Idempotency-Key is being processed"), {}
        self._in_flight.add(key)
        try:
            if self._gate is not None:
                self._held += 1
                try:
                    await self._gate.wait()
                finally:
                    self._held -= 1
            answer = json.dumps({"delivery": len(self._stored) + 1}).encode()
            self._stored[key] = _Stored(fingerprint, self.accepted_status, answer)
        finally:
            self._in_flight.discard(key)
        return self.accepted_status, answer, {}

    # lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        config = uvicorn.Config(
            self,
            host=LOOPBACK,
            port=0,
            lifespan="off",
            ws="none",
            http="h11",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self._server = _InProcessServer(config)
        self._task = asyncio.create_task(self._server.serve())
        server = self._server
        await wait_until(lambda: server.started or self._task is None or self._task.done())
        if not server.started:
            await self._task  # raises what made the start fail
            raise RuntimeError("the webhook receiver did not start")
        sockets = server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.release()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, timeout=10)
        self._server = self._task = None


class _InProcessServer(uvicorn.Server):
    """uvicorn inside the test's event loop; the test process keeps its signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _key(headers: dict[str, str]) -> str | None:
    raw = headers.get("idempotency-key")
    if raw is None:
        return None
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':  # the draft's sf-string form
        raw = raw[1:-1]
    return raw


def _error(text: str) -> bytes:
    return json.dumps({"error": text}).encode()


# -- SMTP server -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mail:
    """A message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    tls: bool
    authenticated_as: str | None
    helo: str | None

    @property
    def message(self) -> EmailMessage:
        """The message parsed, with the wire's CRLF line ends as ``\\n``."""
        return BytesParser(policy=default_policy).parsebytes(self.raw.replace(b"\r\n", b"\n"))


@dataclass(frozen=True, slots=True)
class Certificate:
    """A self-signed certificate for ``127.0.0.1``; ``cert`` doubles as the CA file."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificate(directory: Path) -> Certificate:
    """Generate a self-signed certificate for ``127.0.0.1`` with the ``openssl`` command."""
    cert, key = directory / "smtp.crt", directory / "smtp.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", f"/CN={LOOPBACK}", "-addext", f"subjectAltName=IP:{LOOPBACK}",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(cert, key)


@dataclass
class SmtpServer:
    """An SMTP server on ``127.0.0.1`` (``port`` once started); see the module docstring.

    :ivar tls: ``"starttls"`` (offered, and required before MAIL), ``"implicit"`` (SMTPS) or
        ``None``; needs ``certificate``.
    :ivar users: when set, AUTH (PLAIN/LOGIN, after STARTTLS) is required with these
        credentials.
    :ivar refuse: recipient address -> the reply refusing it, e.g. ``"550 5.1.1 no such user"``.
    """

    certificate: Certificate | None = None
    tls: str | None = None
    users: dict[str, str] | None = None
    refuse: dict[str, str] = field(default_factory=dict)
    messages: list[Mail] = field(default_factory=list)
    drop_after_data: bool = False
    hold_data: asyncio.Event | None = None
    """When set, each message is recorded and then held, unanswered, until the event is set
    (e.g. while a test kills the sending process)."""
    port: int = 0
    _server: asyncio.Server | None = None
    _sessions: set[_Session] = field(default_factory=set)

    async def start(self) -> None:
        if self.tls is not None and self.certificate is None:
            raise ValueError("TLS needs a certificate")
        tls_context = self.certificate.server_context() if self.certificate else None
        loop = asyncio.get_running_loop()

        def factory() -> _Session:
            return _Session(
                self,
                _Handler(self),
                hostname="smtp.govflow.test",
                tls_context=tls_context if self.tls == "starttls" else None,
                require_starttls=self.tls == "starttls",
                auth_required=self.users is not None,
                authenticator=self._authenticate if self.users is not None else None,
                loop=loop,
            )

        self._server = await loop.create_server(
            factory,
            host=LOOPBACK,
            port=0,
            ssl=tls_context if self.tls == "implicit" else None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()
        await wait_until(lambda: not self._sessions)
        await self._server.wait_closed()
        self._server = None

    def settings(self, **extra: str) -> NotificationSettings:
        """The notification plugin's settings pointing at this server (``extra`` as the
        variables would give them, e.g. ``smtp_starttls="true"``)."""
        values = {"smtp_host": LOOPBACK, "smtp_port": str(self.port)} | extra
        return make_settings(NotificationSettings, "notification", **values)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert self.users is not None
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        if self.users.get(login) != password:
            return AuthResult(success=False, handled=False)  # aiosmtpd answers 535
        return AuthResult(success=True, auth_data=login)


class _Session(SMTP):
    """One SMTP connection, tracked so that ``stop`` can close it."""

    def __init__(self, owner: SmtpServer, handler: _Handler, **kwargs: Any) -> None:
        self.owner = owner
        super().__init__(handler, **kwargs)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.owner._sessions.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self.owner._sessions.discard(self)
        super().connection_lost(error)


class _Handler:
    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self.owner.refuse.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        transport = server.transport
        tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        self.owner.messages.append(
            Mail(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                raw=content,
                tls=tls,
                authenticated_as=session.auth_data if session.authenticated else None,
                helo=session.host_name,
            )
        )
        if self.owner.hold_data is not None:
            await self.owner.hold_data.wait()
        if self.owner.drop_after_data and isinstance(transport, asyncio.Transport):
            transport.abort()  # the message arrived, the answer never leaves
        return "250 2.0.0 OK queued"


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    """A started :class:`WebhookReceiver`, stopped after the test."""
    receiver = WebhookReceiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for the TLS SMTP servers."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
async def start_smtp_server() -> AsyncIterator[Callable[..., Awaitable[SmtpServer]]]:
    """``await start_smtp_server(tls=..., users=..., refuse=...)``: a started
    :class:`SmtpServer`; every server started is stopped after the test."""
    started: list[SmtpServer] = []

    async def start(**options: Any) -> SmtpServer:
        server = SmtpServer(**options)
        await server.start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            await server.stop()


@pytest.fixture
async def smtp_server(
    start_smtp_server: Callable[..., Awaitable[SmtpServer]],
) -> SmtpServer:
    """A started plain-text :class:`SmtpServer` without AUTH."""
    return await start_smtp_server()
