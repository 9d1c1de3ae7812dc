"""Helpers shared by the benchmarks in ``bench/``: servers, scratch databases, processes, CPU/RSS.

Not a test module: nothing here asserts; the benchmarks print figures.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CLK_TCK = os.sysconf("SC_CLK_TCK")


def say(message: str) -> None:
    """Progress goes to stderr; stdout carries only the results (table or JSON)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- servers -----------------------------------------------------------------------------------


@dataclass
class Servers:
    """The PostgreSQL and Redis the benchmark runs against (configured, or embedded in a temp dir)."""

    database_url: str
    redis_url: str
    kind: str
    home: Path | None = None
    _stop: list[object] = field(default_factory=list)

    def stop(self) -> None:
        for server in reversed(self._stop):
            try:
                server.stop()  # type: ignore[attr-defined]
            except Exception as exc:
                say(f"could not stop {type(server).__name__}: {exc}")
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)


def servers(database_url: str | None, redis_url: str | None) -> Servers:
    """The given URLs; an embedded server (under a fresh temp dir) for each one missing."""
    if database_url and redis_url:
        return Servers(database_url, redis_url, "configured")
    home = Path(tempfile.mkdtemp(prefix="gfb-", dir="/tmp"))
    # pgserver writes under $XDG_RUNTIME_DIR even at interpreter exit (after our cleanup): give
    # it one fixed folder rather than leaving a stray one inside every run's temp dir.
    xdg = Path("/tmp/gfb-xdg")
    xdg.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(xdg))
    result = Servers(database_url or "", redis_url or "", "embedded", home)
    try:
        if not database_url:
            from govflow.adapters.embedded import EmbeddedPostgres

            pg = EmbeddedPostgres(home)
            result.database_url = pg.start()
            result._stop.append(pg)
        if not redis_url:
            from govflow.adapters.embedded import EmbeddedRedis

            rd = EmbeddedRedis(home)
            result.redis_url = rd.start()
            result._stop.append(rd)
    except BaseException:
        result.stop()
        raise
    if database_url or redis_url:
        result.kind = "mixed"
    return result


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


# --- processes ---------------------------------------------------------------------------------


class Children:
    """Child processes started by the benchmark; all stopped (SIGTERM, then SIGKILL) at the end."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(list(argv), env=env, cwd=ROOT)
        self.running.append(process)
        return process

    def stop(self, processes: Sequence[subprocess.Popen[bytes]] | None = None) -> None:
        targets = list(self.running if processes is None else processes)
        for process in targets:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in targets:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process in self.running:
                self.running.remove(process)

    def check_alive(self, processes: Sequence[subprocess.Popen[bytes]]) -> None:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"child {process.args} exited with {process.returncode}")


@contextmanager
def children() -> Iterator[Children]:
    group = Children()
    try:
        yield group
    finally:
        group.stop()


# --- measurements ------------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM / VmRSS of ``pid`` in bytes (empty if the process is gone)."""
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    values[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return values


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds consumed so far by ``pids`` (missing processes count 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / CLK_TCK


def system_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (from /proc/stat)."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return (sum(parts[:8]) - idle) / CLK_TCK


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5 - 1e-9)))
    return ordered[rank - 1]


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean of durations given in seconds, in milliseconds."""
    if not values:
        return {}
    return {
        "p50": round(percentile(values, 50) * 1000, 2),
        "p90": round(percentile(values, 90) * 1000, 2),
        "p99": round(percentile(values, 99) * 1000, 2),
        "max": round(max(values) * 1000, 2),
        "mean": round(statistics.fmean(values) * 1000, 2),
    }


def machine() -> dict[str, object]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
    }


async def wait_for(probe, accept, *, timeout: float, every: float = 0.05, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll ``probe()`` until ``accept(value)``; raise with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not accept(value):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout}s (last value {value!r})")
        await asyncio.sleep(every)
        value = await probe()
    return value
