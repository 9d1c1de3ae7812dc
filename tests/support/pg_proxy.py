"""A loopback TCP proxy in front of the test PostgreSQL that can lose a statement's reply.

Armed with a marker (bytes the test knows a statement's parameters contain, e.g. a worker id),
it lets the ``nth`` statement bound with that marker run and commit on the server, swallows the
server's whole reply up to its ``ReadyForQuery`` (sent only after the commit), then closes both
sides: the client sees its connection lost in the middle of a statement that did commit.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

READY_FOR_QUERY = b"Z"


class PgProxy:
    def __init__(self, upstream_url: str) -> None:
        self.upstream_url = upstream_url
        self.cuts = 0
        self._marker = b""
        self._countdown = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        """Listen on a free loopback port; the URL that reaches the database through the proxy."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        parts = urlsplit(self.upstream_url)
        user = parts.username or "postgres"
        auth = f"{user}:{parts.password}@" if parts.password else f"{user}@"
        return urlunsplit(("postgresql", f"{auth}127.0.0.1:{port}", parts.path, "", ""))

    def cut_reply(self, marker: bytes, nth: int = 1) -> None:
        """Lose the reply of the ``nth`` statement from now whose parameters contain ``marker``."""
        self._marker, self._countdown = marker, nth

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        parts = urlsplit(self.upstream_url)
        socket_dir = parse_qs(parts.query).get("host", [parts.hostname or ""])[0]
        if socket_dir.startswith("/"):
            port = parts.port or 5432
            path = Path(socket_dir) / f".s.PGSQL.{port}"
            if not path.exists():
                path = next(Path(socket_dir).glob(".s.PGSQL.*"))
            return await asyncio.open_unix_connection(str(path))
        return await asyncio.open_connection(parts.hostname, parts.port or 5432)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await self._open_upstream()
        cut = asyncio.Event()
        tasks = [
            asyncio.create_task(self._client_to_server(reader, up_writer, cut)),
            asyncio.create_task(self._server_to_client(up_reader, writer, cut)),
        ]
        self._tasks.update(tasks)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
                self._tasks.discard(task)
            for side in (writer, up_writer):
                side.close()

    async def _client_to_server(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cut: asyncio.Event
    ) -> None:
        tail = b""
        while data := await reader.read(65536):
            window = tail + data
            if self._countdown and self._marker and self._marker in window:
                self._countdown -= 1
                if self._countdown == 0:
                    cut.set()
            tail = window[-len(self._marker) :] if self._marker else b""
            writer.write(data)
            await writer.drain()

    async def _server_to_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cut: asyncio.Event
    ) -> None:
        buffer = b""
        while data := await reader.read(65536):
            buffer += data
            passed = bytearray()
            while len(buffer) >= 5:
                size = 1 + int.from_bytes(buffer[1:5], "big")
                if len(buffer) < size:
                    break
                message, buffer = buffer[:size], buffer[size:]
                if not cut.is_set():
                    passed += message
                elif message[:1] == READY_FOR_QUERY:  # committed: now lose the connection
                    self.cuts += 1
                    return
            if passed:
                writer.write(bytes(passed))
                await writer.drain()
