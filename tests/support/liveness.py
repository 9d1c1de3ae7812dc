"""A probe that asks ``/livez`` over and over while a test attacks the server, and its verdict.

A blocked event loop shows as answers that take as long as the blocking work (seconds) or as a
run of slow answers. A few late answers among many are the operating system scheduling something
else on a busy two-core machine, not the server: the verdict allows one answer in twenty (at
least one) over the bound, never one over ten times the bound (or a second).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx

OUTLIER_SHARE = 20
"""One answer in this many (at least one) may be over the bound: it waited behind a loaded
machine (parallel test workers on two cores), never longer than :data:`OUTLIER_CAP` or ten times
the bound. A blocked loop is caught by the others, which must stay within the bound."""
OUTLIER_CAP = 1.0


class LivenessProbe:
    """Asks ``/livez`` over and over in its own task; keeps every answer's latency.

    :param client: makes the client the probe asks with (a fresh connection of its own, or the
        test's in-process client wrapped so the probe does not close it).
    """

    def __init__(self, client: Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]):
        self._client = client
        self.latencies: list[float] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with self._client() as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                response = await client.get("/livez")
                self.latencies.append(time.perf_counter() - started)
                assert response.status_code == 200
                await asyncio.sleep(0.002)

    async def __aenter__(self) -> LivenessProbe:
        self._task = asyncio.create_task(self._run())
        deadline = time.monotonic() + 5
        while len(self.latencies) < 3:  # connected and warm before the attack starts
            self._raise_if_stopped()
            assert time.monotonic() < deadline, "/livez never answered"
            await asyncio.sleep(0.001)
        self.latencies.clear()
        return self

    def _raise_if_stopped(self) -> None:
        assert self._task is not None
        if self._task.done():
            self._task.result()  # the probe failed: show why
            raise AssertionError("the probe stopped")

    async def answered_more(self, count: int = 3, timeout: float = 10.0) -> None:
        """Wait until ``count`` more answers arrived: ``/livez`` answers after the attack too."""
        wanted = len(self.latencies) + count
        deadline = time.monotonic() + timeout
        while len(self.latencies) < wanted:
            self._raise_if_stopped()
            assert time.monotonic() < deadline, f"/livez stopped answering: {self.latencies}"
            await asyncio.sleep(0.001)

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task

    def assert_answered_within(self, bound: float) -> None:
        """Every answer within ``bound``, but for one in :data:`OUTLIER_SHARE` (at least one),
        each under ten times it (or :data:`OUTLIER_CAP`)."""
        assert self.latencies, "/livez never answered during the attack"
        slowest = sorted(self.latencies, reverse=True)
        allowed = max(1, len(slowest) // OUTLIER_SHARE)
        assert slowest[0] < max(10 * bound, OUTLIER_CAP), slowest[:5]
        assert all(latency < bound for latency in slowest[allowed:]), (len(slowest), slowest[:8])
