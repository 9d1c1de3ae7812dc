"""Loopback peers for the outbound (SSRF) guard tests.

:class:`Listener` is a minimal HTTP/1.1 server on a loopback address of the test's choice
(``127.0.0.1``, ``127.0.0.2``, ``::1``): it records every connection it accepts and every request
head it reads, and answers each request with a fixed status and headers (``202`` by default, or
e.g. ``307`` with a ``Location`` to act as a redirecting receiver), optionally over TLS. A test
asserts on :attr:`Listener.connections` that nothing at all reached it. ``port`` 0 (the
default) picks a free port; a given port lets two listeners share it on different addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Received:
    """One request head as the listener read it (header names lowercased)."""

    method: str
    target: str
    headers: dict[str, str]


@dataclass
class Listener:
    """See the module docstring."""

    host: str = "127.0.0.1"
    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None
    connections: int = 0
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.authority}/hooks/notify"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            self.requests.append(Received(method, target, headers))
            extra = "".join(f"{name}: {value}\r\n" for name, value in self.headers.items())
            writer.write(
                f"HTTP/1.1 {self.status} X\r\n{extra}Content-Length: 0\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def listening(**options: object) -> AsyncIterator[Listener]:
    """A started :class:`Listener`, stopped afterwards."""
    listener = Listener(**options)  # type: ignore[arg-type]
    await listener.start()
    try:
        yield listener
    finally:
        await listener.stop()


@dataclass(frozen=True)
class NamedCertificate:
    """A self-signed certificate for a DNS name (no IP address in it); ``cert`` is its own CA."""

    name: str
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def named_certificate(directory: Path, name: str) -> NamedCertificate:
    """Generate a certificate for ``name`` with the ``openssl`` command."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return NamedCertificate(name, cert, key)
