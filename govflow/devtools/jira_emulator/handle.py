"""Start the emulator and drive it from Python: in this process (:class:`JiraEmulator`, served by
uvicorn in the running event loop) or as a child process (:class:`JiraEmulatorProcess`, driven
through the control API). Both offer the same reads and fault injections."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import msgspec
import uvicorn

from govflow.devtools.jira_emulator.app import EmulatorApp, ReceivedRequest
from govflow.devtools.jira_emulator.faults import ActiveFault, Fault, FaultKind, FaultPlan
from govflow.devtools.jira_emulator.seed import Seed, SeedUser, default_seed
from govflow.devtools.jira_emulator.state import (
    AppliedTransition,
    Comment,
    Issue,
    JiraError,
    JiraState,
)

LOOPBACK = "127.0.0.1"
READY = re.compile(r"Jira emulator listening on (?P<url>http://\S+)")


class FaultInjection:
    """Shorthands over :meth:`inject`; ``method`` and ``path`` (a regular expression) narrow
    the requests a fault applies to."""

    def inject(self, fault: Fault) -> None:
        raise NotImplementedError

    def _add(
        self, kind: FaultKind, count: int, method: str | None, path: str | None, **more: Any
    ) -> None:
        self.inject(Fault(kind=kind, count=count, method=method, path=path, **more))

    def rate_limit(
        self,
        count: int = 1,
        *,
        retry_after: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests with 429 and ``Retry-After: retry_after``."""
        self._add("rate_limit", count, method, path, retry_after=retry_after)

    def fail(
        self,
        count: int = 1,
        *,
        status: int = 503,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests with ``status`` (a 5xx), changing nothing."""
        self._add("error", count, method, path, status=status)

    def slow(
        self, delay: float, count: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Hold the next ``count`` requests ``delay`` seconds before handling them."""
        self._add("slow", count, method, path, delay=delay)

    def drop_after_apply(
        self, count: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Apply the next ``count`` requests, then close their connections unanswered."""
        self._add("drop_after_apply", count, method, path)

    def drop_before_apply(
        self, count: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Close the next ``count`` requests' connections without handling them."""
        self._add("drop_before_apply", count, method, path)


class _Server(uvicorn.Server):
    """uvicorn that tells when it listens and leaves signal handling to its caller."""

    def __init__(self, config: uvicorn.Config, *, own_signals: bool) -> None:
        super().__init__(config)
        self.own_signals = own_signals
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if self.own_signals:
            with super().capture_signals():
                yield
        else:
            yield


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, so that a taken port is a plain ``OSError``."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        listening = socket.socket(family, kind, proto)
    except OSError as exc:
        raise OSError(f"the Jira emulator cannot listen on {host}:{port}: {exc}") from None
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
    except OSError as exc:
        listening.close()
        reason = exc.strerror or str(exc)
        raise OSError(f"the Jira emulator cannot listen on {host}:{port}: {reason}") from None
    return listening


class JiraEmulator(FaultInjection):
    """The emulator in this process. ``await start()`` (or ``async with``) serves it on a free
    loopback port in the running event loop; :attr:`url` is then its base URL."""

    def __init__(self, seed: Seed | None = None, *, max_page: int = 100) -> None:
        self.app = EmulatorApp(JiraState(seed or default_seed()), FaultPlan(), max_page=max_page)
        self.url = ""
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, host: str = LOOPBACK, port: int = 0, *, own_signals: bool = False) -> str:
        """Listen on ``host:port`` (0: a free port) and return the base URL."""
        config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            lifespan="off",
            ws="none",
            http="h11",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        listening = _listen(host, port)
        server = _Server(config, own_signals=own_signals)
        task = asyncio.create_task(server.serve(sockets=[listening]))
        ready = asyncio.create_task(server.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not server.ready.is_set():
            ready.cancel()
            listening.close()
            with contextlib.suppress(BaseException):
                await task
            raise OSError(f"the Jira emulator could not start on {host}:{port}")
        self._server, self._task = server, task
        bound = listening.getsockname()
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{bound[1]}"
        return self.url

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, timeout=10)
        self._server = self._task = None

    async def wait_closed(self) -> None:
        """Serve until the server exits (Ctrl-C when it owns the signals)."""
        if self._task is not None:
            await self._task

    async def __aenter__(self) -> JiraEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- reads --------------------------------------------------------------------------------

    @property
    def state(self) -> JiraState:
        return self.app.state

    @property
    def user(self) -> SeedUser:
        """The first seeded account: the one GovFlow is configured with."""
        return self.app.state.seed.users[0]

    def issue(self, key: str) -> Issue:
        return self.app.state.issues[key]

    def comments(self, key: str) -> list[Comment]:
        return list(self.app.state.issues[key].comments)

    def transitions(self, key: str | None = None) -> list[AppliedTransition]:
        return [t for t in self.app.state.transitions_applied if key in (None, t.issue_key)]

    def requests(self) -> list[ReceivedRequest]:
        return list(self.app.requests)

    def faults(self) -> list[ActiveFault]:
        return self.app.faults.active()

    # -- changes ------------------------------------------------------------------------------

    def add_issue(self, project: str, **details: Any) -> Issue:
        return self.app.state.add_issue(project, **details)

    def inject(self, fault: Fault) -> None:
        self.app.faults.add(fault)

    def clear_faults(self) -> None:
        self.app.faults.clear()

    def reset(self) -> None:
        self.app.reset()


class JiraEmulatorProcess(FaultInjection):
    """``govflow dev jira-emulator`` as a child process on a free port, driven through its
    control API; use it as a context manager or call :meth:`start` and :meth:`stop`."""

    def __init__(
        self,
        seed: Path | None = None,
        *,
        host: str = LOOPBACK,
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.seed = seed
        self.host = host
        self.command = command or [sys.executable, "-m", "govflow"]
        self.env = env
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self._client: httpx.Client | None = None
        self._stderr: IO[str] | None = None

    def start(self, timeout: float = 60.0) -> str:
        arguments = [*self.command, "dev", "jira-emulator", "--host", self.host, "--port", "0"]
        if self.seed is not None:
            arguments += ["--seed", str(self.seed)]
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            arguments,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=self.env if self.env is not None else dict(os.environ),
        )
        self.url = self._read_url(self.process, self._stderr, timeout)
        self._client = httpx.Client(base_url=f"{self.url}/_emulator/", timeout=30)
        return self.url

    @staticmethod
    def _read_url(process: subprocess.Popen[str], stderr: IO[str], timeout: float) -> str:
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                process.kill()
                raise TimeoutError(f"the Jira emulator did not start within {timeout}s")
            readable, _, _ = select.select([process.stdout], [], [], remaining)
            if not readable:
                continue
            line = process.stdout.readline()
            if not line:
                process.wait()
                stderr.seek(0)
                raise RuntimeError(f"the Jira emulator exited: {stderr.read().strip()}")
            found = READY.search(line)
            if found:
                return found.group("url")

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> JiraEmulatorProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        if self._client is None:
            raise RuntimeError("the Jira emulator process is not started")
        response = self._client.request(method, path, json=body)
        if response.status_code >= 400:
            answer = response.json()
            raise JiraError(response.status_code, answer.get("errorMessages"), answer.get("errors"))
        return response

    def _read(self, path: str, kind: type[Any]) -> Any:
        return msgspec.json.decode(self._call("GET", path).content, type=kind)

    def issue(self, key: str) -> Issue:
        issue: Issue = self._read(f"issues/{key}", Issue)
        return issue

    def comments(self, key: str) -> list[Comment]:
        return list(self.issue(key).comments)

    def transitions(self, key: str | None = None) -> list[AppliedTransition]:
        applied: list[AppliedTransition] = self._read("transitions", list[AppliedTransition])
        return [t for t in applied if key in (None, t.issue_key)]

    def requests(self) -> list[ReceivedRequest]:
        found: list[ReceivedRequest] = self._read("requests", list[ReceivedRequest])
        return found

    def faults(self) -> list[ActiveFault]:
        found: list[ActiveFault] = self._read("faults", list[ActiveFault])
        return found

    def add_issue(self, project: str, **details: Any) -> Issue:
        answer = self._call("POST", "issues", {"project": project, **details})
        issue: Issue = msgspec.json.decode(answer.content, type=Issue)
        return issue

    def inject(self, fault: Fault) -> None:
        self._call("POST", "faults", msgspec.to_builtins(fault))

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def reset(self) -> None:
        self._call("POST", "reset")


def serve_forever(seed: Seed, host: str, port: int, on_ready: Callable[[str], None]) -> None:
    """Run the emulator until SIGINT or SIGTERM (what ``govflow dev jira-emulator`` does)."""

    async def main() -> None:
        emulator = JiraEmulator(seed)
        url = await emulator.start(host, port, own_signals=True)
        on_ready(url)
        await emulator.wait_closed()

    asyncio.run(main())
