"""``govflow up``: one command that runs all of GovFlow on this machine.

It starts the embedded servers when no URLs are configured, migrates, seeds (development mode),
loads ``workflows.d/``, then runs the API, one worker and the scheduler as child processes and
restarts a child that dies. In development mode without ``JIRA_BASE_URL`` the Jira emulator is a
child too, started and answering before the others (:mod:`govflow.cli.up_jira`). SIGINT or
SIGTERM stops the children and the embedded servers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import click

from govflow.bootstrap.instance import ServiceUrls
from govflow.cli.up_jira import JiraEmulatorPlan, wait_until_serving
from govflow.settings import Settings

CHILDREN = ("api", "worker", "scheduler")
STOP_GRACE_SECONDS = 15.0
MAX_RESTARTS_PER_MINUTE = 5


def _die_with_parent() -> None:
    """In the child: receive SIGTERM when the supervisor dies, even by SIGKILL (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class StartupError(Exception):
    """GovFlow cannot start here; the message says why and what to do."""


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise StartupError(
                f"port {port} on {host} is in use ({exc.strerror}); stop what uses it or set PORT"
            ) from None


def check_home_writable(home: Path) -> None:
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise StartupError(
            f"the data folder {home} is not writable ({exc.strerror}); "
            "fix its permissions or set GOVFLOW_HOME"
        ) from None


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    quiet: bool = False
    """Its standard output is discarded (the emulator's banner: ``up`` prints its own)."""
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self) -> subprocess.Popen[bytes]:
        self.process = subprocess.Popen(  # noqa: S603
            self.argv,
            env=self.env,
            preexec_fn=_die_with_parent,
            stdout=subprocess.DEVNULL if self.quiet else None,
        )
        return self.process

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        urls: ServiceUrls,
        env: dict[str, str],
        jira: JiraEmulatorPlan | None = None,
    ) -> None:
        self.settings = settings
        self.jira = jira
        child_env = {**os.environ, **env}
        child_env["DATABASE_URL"] = urls.database_url
        child_env["REDIS_URL"] = urls.redis_url
        self.emulator: Child | None = None
        if jira is not None:
            self.emulator = Child("jira-emulator", jira.argv, dict(os.environ), quiet=True)
            child_env.update(jira.env())
        self.children = [
            Child(name, [sys.executable, "-m", "govflow", name], child_env) for name in CHILDREN
        ]
        if self.emulator is not None:
            self.children.insert(0, self.emulator)
        self._stopping = False

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        if self.emulator is not None and self.jira is not None:
            try:
                wait_until_serving(self.jira, self.emulator.start())
            except RuntimeError as exc:
                click.echo(f"govflow: {exc}", err=True)
                self.stop_children()
                return 1
        for child in self.children:
            if child is not self.emulator:
                child.start()
        status = 0
        while not self._stopping:
            for child in self.children:
                if child.alive():
                    continue
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < 60] + [now]
                if len(child.restarts) > MAX_RESTARTS_PER_MINUTE:
                    click.echo(f"govflow: {child.name} keeps exiting; stopping", err=True)
                    self._stopping, status = True, 1
                    break
                code = child.process.returncode if child.process else None
                click.echo(f"govflow: {child.name} exited ({code}); restarting", err=True)
                child.start()
            time.sleep(0.2)
        self.stop_children()
        return status

    def stop_children(self) -> None:
        for child in self.children:
            if child.alive() and child.process is not None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
