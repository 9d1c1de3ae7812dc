"""Embedded PostgreSQL from the ``pgserver`` wheel (real PostgreSQL binaries)."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

from govflow.adapters.embedded.errors import EmbeddedServerError
from govflow.adapters.embedded.locking import file_lock

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A PostgreSQL cluster kept in ``<home>/postgres``, reached through a unix socket."""

    def __init__(self, home: Path) -> None:
        self.home = home.resolve()
        self.pgdata = self.home / "postgres"
        self._lock_path = self.home / "locks" / "postgres.lock"

    def start(self) -> str:
        """Start the cluster unless it runs already; return its connection URL."""
        if "XDG_RUNTIME_DIR" not in os.environ:
            runtime = self.home / "xdg"
            runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
            runtime.chmod(0o700)
            os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        try:
            import pgserver.postgres_server
        except ImportError as exc:  # pragma: no cover - depends on the platform's wheels
            raise EmbeddedServerError(
                "the embedded PostgreSQL needs the 'embedded' extra "
                "(pip install 'govflow[embedded]', CPython 3.11/3.12 on x86-64 Linux); "
                "otherwise set DATABASE_URL"
            ) from exc
        try:
            with file_lock(self._lock_path):
                self.home.mkdir(parents=True, exist_ok=True)
                server = pgserver.postgres_server.get_server(self.pgdata, cleanup_mode=None)
                uri: str = server.get_uri()
        except (OSError, subprocess.CalledProcessError, AssertionError) as exc:
            raise EmbeddedServerError(
                f"the embedded PostgreSQL in {self.pgdata} did not start: {exc}; "
                f"see {self.pgdata / 'log'}"
            ) from exc
        return uri

    def pid(self) -> int | None:
        """The postmaster's pid, if a ``postmaster.pid`` file names a live process."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        from govflow.adapters.embedded.locking import pid_alive

        return pid if pid_alive(pid) else None

    def stop(self) -> bool:
        """Stop the cluster (fast shutdown); ``False`` when it was not running."""
        with file_lock(self._lock_path):
            if self.pid() is None:
                return False
            import pgserver._commands

            pg_ctl = pgserver._commands.pg_ctl  # type: ignore[attr-defined]  # made at import
            user = "pgserver" if os.geteuid() == 0 else None
            try:
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user)
            except subprocess.CalledProcessError as exc:
                raise EmbeddedServerError(f"pg_ctl stop failed: {exc}") from exc
            return True
