"""Where the database and Redis are: the configured URLs, or the embedded servers.

Who stops an embedded server:

- A long-running process (``govflow up``, a standalone ``api``, ``worker`` or ``scheduler``) and
  ``govflow embedded start`` start the servers they need and keep them: they *adopt* them.
  ``govflow up`` stops them when it stops; ``govflow embedded stop`` stops them by hand.
- A short command (``govflow migrate``, ``executions show``, ...) runs inside
  :func:`command_lifetime`. A server it had to start is *transient*: it is stopped when the last
  command using it ends, unless a long-running process adopted it meanwhile. A server that was
  already running is left alone.

The bookkeeping lives in files under ``GOVFLOW_HOME/locks``, so it holds across processes and
survives a killed one: ``embedded.lock`` serialises every start, adoption and end of use;
each command using the servers holds a shared lock on ``embedded-users.lock`` (the kernel drops
it when the process dies); ``<server>.transient`` marks a server started by a command. A command
killed before its end leaves a marked server behind, which the next command stops at its end.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from govflow.adapters.embedded import EmbeddedPostgres, EmbeddedRedis
from govflow.adapters.embedded.locking import file_lock
from govflow.settings import Settings

SERVERS = ("postgres", "redis")


@dataclass(frozen=True, slots=True)
class ServiceUrls:
    database_url: str
    redis_url: str
    embedded: tuple[str, ...] = field(default=())


def _server(home: Path, name: str) -> EmbeddedPostgres | EmbeddedRedis:
    return EmbeddedPostgres(home) if name == "postgres" else EmbeddedRedis(home)


class _Folder:
    """The lock files and transient markers of the embedded servers under one data folder."""

    def __init__(self, home: Path) -> None:
        self.home = home.resolve()
        self.locks = self.home / "locks"

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with file_lock(self.locks / "embedded.lock"):
            yield

    def users(self) -> IO[str]:
        self.locks.mkdir(parents=True, exist_ok=True)
        return (self.locks / "embedded-users.lock").open("a+")

    def marker(self, name: str) -> Path:
        return self.locks / f"{name}.transient"


class _CommandUse:
    """One short command's use of embedded servers: what it holds, and its end."""

    def __init__(self) -> None:
        self._held: dict[Path, IO[str]] = {}

    def start(self, folder: _Folder, name: str) -> str:
        """Start ``name`` if needed (the caller holds the folder's exclusive lock); mark it
        transient when this command started it."""
        if folder.home not in self._held:
            handle = folder.users()
            fcntl.flock(handle, fcntl.LOCK_SH)  # at once: an exclusive holder holds the mutex
            self._held[folder.home] = handle
        server = _server(folder.home, name)
        was_running = server.pid() is not None
        url = server.start()
        if not was_running:
            folder.marker(name).touch()
        return url

    def end(self) -> list[str]:
        """Give the servers up; stop the transient ones if no other command uses them."""
        stopped: list[str] = []
        for home, handle in self._held.items():
            folder = _Folder(home)
            with folder.exclusive():
                handle.close()  # drops this command's shared lock
                with folder.users() as users:
                    try:
                        fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # another command uses them; the last one stops them
                    for name in SERVERS:
                        if folder.marker(name).exists():
                            if _server(home, name).stop():
                                stopped.append(name)
                            folder.marker(name).unlink(missing_ok=True)
        self._held.clear()
        return stopped


_command: ContextVar[_CommandUse | None] = ContextVar("govflow_command_use", default=None)


@contextlib.contextmanager
def command_lifetime() -> Iterator[list[str]]:
    """Run a short command: the embedded servers it starts are stopped when it ends (unless
    another command still uses them or a long-running process adopted them).

    :returns: the names of the servers stopped at the end, filled in when the block ends.
    """
    use = _CommandUse()
    token = _command.set(use)
    stopped: list[str] = []
    try:
        yield stopped
    finally:
        _command.reset(token)
        stopped.extend(use.end())


def resolve_service_urls(settings: Settings) -> ServiceUrls:
    """The configured URLs; an embedded server is started for each one that is not set.

    Inside :func:`command_lifetime` the command only uses the servers; elsewhere the caller
    adopts them (they are no longer transient).
    """
    wanted = [
        name
        for name, url in (("postgres", settings.database_url), ("redis", settings.redis_url))
        if not url
    ]
    urls = {"postgres": settings.database_url or "", "redis": settings.redis_url or ""}
    if wanted:
        folder = _Folder(settings.home)
        use = _command.get()
        with folder.exclusive():
            for name in wanted:
                if use is not None:
                    urls[name] = use.start(folder, name)
                else:
                    urls[name] = _server(folder.home, name).start()
                    folder.marker(name).unlink(missing_ok=True)
    return ServiceUrls(urls["postgres"], urls["redis"], tuple(wanted))


def stop_embedded(settings: Settings) -> list[str]:
    """Stop the embedded servers under the data folder; return the ones that were running."""
    folder = _Folder(settings.home)
    stopped = []
    with folder.exclusive():
        for name in ("redis", "postgres"):
            if _server(folder.home, name).stop():
                stopped.append(name)
            folder.marker(name).unlink(missing_ok=True)
    return stopped
