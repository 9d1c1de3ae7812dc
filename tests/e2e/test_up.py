"""``govflow up`` on a fresh data folder: embedded servers, migrate, seed, load, serve, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from govflow.adapters.embedded import EmbeddedPostgres, EmbeddedRedis
from tests.support.engine import ROOT

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def up_env(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        GOVFLOW_HOME=str(home),
        PORT=str(port),
        GOVFLOW_MODE="development",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.pop("JWT_SECRET", None)
    return env


def wait_port_free(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"port {port} still in use after {timeout}s")


def wait_ready(port: int, process: subprocess.Popen[str], timeout: float = 90.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise AssertionError(f"govflow up exited with {process.returncode}")
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
            if health.status_code == ready.status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"not ready within {timeout}s")


@pytest.fixture
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="gfu-", dir="/tmp"))
    yield folder
    EmbeddedRedis(folder).stop()
    EmbeddedPostgres(folder).stop()


def start_up(home: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "govflow", "up"],
        env=up_env(home, port),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    return output


def test_up_serves_runs_a_workflow_and_stops_everything_it_started(home: Path) -> None:
    port = free_port()
    process = start_up(home, port)
    try:
        first_start = wait_ready(port, process)
        env = up_env(home, port)
        env["DATABASE_URL"] = f"postgresql://postgres:@/postgres?host={home / 'postgres'}"
        env["REDIS_URL"] = EmbeddedRedis(home).url
        env["JWT_SECRET"] = (home / "jwt_secret").read_text().strip()
        run = subprocess.run(
            [sys.executable, "-m", "govflow", "executions", "start", "hello", "--wait",
             "--timeout", "60", "-i", "who=Ada"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        assert "COMPLETED" in run.stdout
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert "admin@govflow.local" in output
    assert f":{port}/ui\n" in output  # the banner names the console and the API docs
    assert f":{port}/schema " in output
    assert "stopped the embedded redis and postgres" in output
    assert EmbeddedPostgres(home).pid() is None
    assert EmbeddedRedis(home).pid() is None
    # A second start reuses the data (no new demo passwords, workflows unchanged).
    process = start_up(home, port)
    try:
        warm_start = wait_ready(port, process)
    finally:
        output_again = stop(process)
    assert warm_start < first_start + 30
    assert output.split("Log in with")[1].split("Press")[0] in output_again


def test_up_after_sigkill_recovers_stale_pids_and_sockets(home: Path) -> None:
    port = free_port()
    process = start_up(home, port)
    wait_ready(port, process)
    process.send_signal(signal.SIGKILL)  # the supervisor dies; the embedded servers linger
    process.communicate(timeout=30)
    wait_port_free(port)  # its children follow it (parent-death signal)
    redis_pid = EmbeddedRedis(home).pid()
    assert redis_pid is not None
    os.kill(redis_pid, signal.SIGKILL)  # a stale pidfile and socket are left behind
    process = start_up(home, port + 0)
    try:
        wait_ready(port, process)
    finally:
        stop(process)
    assert process.returncode == 0


def test_a_port_in_use_is_a_clear_error_and_nothing_is_left_running(home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "govflow", "up"],
            env=up_env(home, port), cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert EmbeddedPostgres(home).pid() is None
    assert EmbeddedRedis(home).pid() is None


def test_malformed_settings_exit_2_with_one_line_per_variable(home: Path) -> None:
    env = up_env(home, 8000)
    env.update(PORT="eighty", LOG_LEVEL="LOUD", GOVFLOW_MODE="production")
    result = subprocess.run(
        [sys.executable, "-m", "govflow", "up"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith("govflow: configuration: PORT:") for line in lines)
    assert any(line.startswith("govflow: configuration: LOG_LEVEL:") for line in lines)
