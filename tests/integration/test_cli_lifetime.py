"""The operator's CLI where no instance was started: it stops the embedded servers it started,
leaves alone those that were running, and says "run `govflow migrate`" on a database that is not
migrated, without a traceback. ``govflow up`` prints the GOVFLOW_HOME that reaches it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from govflow.adapters.embedded import EmbeddedPostgres, EmbeddedRedis
from tests.support.engine import ROOT

UNKNOWN = "0190c4f0-0000-7000-8000-000000000000"


def cli_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "JWT_SECRET", "MIGRATION_DATABASE_URL"}
    }
    env.update(
        GOVFLOW_HOME=str(home),
        GOVFLOW_MODE="development",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def govflow(home: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govflow", *args],
        env=cli_env(home), cwd=cwd, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def server_pids(home: Path) -> dict[str, int]:
    """The embedded servers running for ``home``, by their pid files."""
    pids = {"postgres": EmbeddedPostgres(home).pid(), "redis": EmbeddedRedis(home).pid()}
    return {name: pid for name, pid in pids.items() if pid is not None}


def processes_under(home: Path) -> list[str]:
    """Command lines of live processes that name ``home`` (a server whose pid file is gone
    shows here too: postgres names its data folder, redis its socket)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if str(home) in cmdline and state != "Z":
            found.append(cmdline.strip())
    return found


def assert_nothing_left(home: Path) -> None:
    assert server_pids(home) == {}
    assert processes_under(home) == []


def assert_one_line_error(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("govflow: ")]
    assert len(lines) == 1, result.stderr
    assert text in lines[0]


@pytest.fixture
def home() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="gfc-", dir="/tmp"))
    yield folder
    if server_pids(folder):  # a failed test: stop what it left, in a process of its own
        govflow(folder, "embedded", "stop")


def test_commands_on_a_fresh_home_stop_the_servers_they_started(home: Path) -> None:
    not_migrated = govflow(home, "executions", "show", UNKNOWN)
    assert_one_line_error(not_migrated, "run `govflow migrate`")
    assert_nothing_left(home)

    migrated = govflow(home, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.startswith("applied ")
    assert_nothing_left(home)

    missing = govflow(home, "executions", "show", UNKNOWN)
    assert_one_line_error(missing, f"execution {UNKNOWN} not found")
    assert_nothing_left(home)

    seeded = govflow(home, "seed")
    assert seeded.returncode == 0, seeded.stderr
    assert_nothing_left(home)

    loaded = govflow(home, "workflows", "load")
    assert loaded.returncode == 0, loaded.stderr
    assert "workflow hello:" in loaded.stdout
    assert_nothing_left(home)


def test_servers_running_before_a_command_are_left_running(home: Path) -> None:
    started = govflow(home, "embedded", "start")
    assert started.returncode == 0, started.stderr
    before = server_pids(home)
    assert set(before) == {"postgres", "redis"}
    assert govflow(home, "migrate").returncode == 0
    shown = govflow(home, "executions", "show", UNKNOWN)
    assert_one_line_error(shown, "not found")
    assert server_pids(home) == before
    stopped = govflow(home, "embedded", "stop")
    assert stopped.stdout.strip() == "stopped: redis, postgres"
    assert_nothing_left(home)


def test_the_last_command_using_started_servers_stops_them(home: Path) -> None:
    for command in ("migrate", "seed", "workflows load"):
        assert govflow(home, *command.split()).returncode == 0, command
    # No worker runs: the execution stays PENDING and --wait holds the servers for 20 s (long
    # enough for `executions show` to start and answer on a loaded machine).
    waiting = subprocess.Popen(
        [sys.executable, "-m", "govflow", "executions", "start", "hello", "-i", "who=Ada",
         "--wait", "--timeout", "20"],
        env=cli_env(home), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert waiting.stdout is not None
        first = waiting.stdout.readline()  # printed once the execution is stored
        match = re.match(r"started execution (\S+)", first)
        assert match, first
        started_by_waiting = server_pids(home)
        assert set(started_by_waiting) == {"postgres", "redis"}
        shown = govflow(home, "executions", "show", match.group(1))
        assert shown.returncode == 0, shown.stderr
        assert "PENDING" in shown.stdout
        assert server_pids(home) == started_by_waiting  # still in use by the waiting command
    finally:
        _, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 3, err
    assert "still PENDING after 20s" in err
    assert_nothing_left(home)


class Output:
    """Collects a process's output lines as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, process: subprocess.Popen[str], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            if process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r}: {self.lines}")

    def join(self, process: subprocess.Popen[str]) -> None:
        self._thread.join(timeout=30)
        assert process.stdout is not None
        process.stdout.close()


@pytest.mark.e2e
def test_up_prints_the_home_that_lets_the_cli_reach_it(home: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = cli_env(home)
    env["PORT"] = str(port)
    up = subprocess.Popen(
        [sys.executable, "-m", "govflow", "up"], env=env, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = Output(up)
    try:
        line = output.wait_for(r"export GOVFLOW_HOME=", up, timeout=120)
        exported = line.split("export GOVFLOW_HOME=", 1)[1].strip()
        assert Path(exported) == home.resolve()
        servers = server_pids(home)
        assert set(servers) == {"postgres", "redis"}
        output.wait_for(r"Press Ctrl-C", up, timeout=30)
        # Another shell: nothing but the exported GOVFLOW_HOME, somewhere else.
        run = govflow(
            Path(exported), "executions", "start", "hello", "-i", "who=Ada", "--wait",
            "--timeout", "90", cwd=tmp_path,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        assert "COMPLETED" in run.stdout
        assert server_pids(home) == servers  # the instance's servers were left running
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=60)
        output.join(up)
    assert up.returncode == 0, "\n".join(output.lines)
    assert "stopped the embedded redis and postgres" in output.lines
    assert_nothing_left(home)
