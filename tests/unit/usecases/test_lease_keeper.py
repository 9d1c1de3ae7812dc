"""The lease kept alive beside an action running in the worker's own task."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from govflow.plugins import TechnicalError
from govflow.usecases.lease_keeper import LEASE_LOST, LeaseKeeper


class Renewals:
    """A lease store's renewals: answers ``alive`` (or raises ``failure``) and counts calls."""

    def __init__(self, *, alive: bool = True, failure: Exception | None = None) -> None:
        self.alive = alive
        self.failure = failure
        self.calls = 0

    async def __call__(self) -> bool:
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        return self.alive


async def test_a_quick_action_is_not_renewed_and_returns_its_result() -> None:
    renewals = Renewals()
    async with LeaseKeeper(renewals, every=5.0):
        result = await asyncio.sleep(0, result={"ok": True})
    assert result == {"ok": True}
    assert renewals.calls == 0


async def test_a_long_action_is_renewed_while_it_runs_and_not_after() -> None:
    renewals = Renewals()
    async with LeaseKeeper(renewals, every=0.01):
        async with asyncio.timeout(5):
            while renewals.calls < 3:
                await asyncio.sleep(0.005)
    seen = renewals.calls
    await asyncio.sleep(0.05)
    assert seen >= 3
    assert renewals.calls == seen


async def test_a_lease_taken_over_cancels_the_action_and_raises_lease_lost() -> None:
    renewals = Renewals(alive=False)
    stopped = asyncio.Event()

    async def action() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            stopped.set()
            raise

    with pytest.raises(TechnicalError, match=LEASE_LOST):
        async with asyncio.timeout(5), LeaseKeeper(renewals, every=0.01):
            await action()
    assert stopped.is_set()
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


async def test_an_action_that_swallows_the_cancel_still_loses_its_result() -> None:
    renewals = Renewals(alive=False)

    async def stubborn() -> str:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)
        return "result"

    with pytest.raises(TechnicalError, match=LEASE_LOST):
        async with LeaseKeeper(renewals, every=0.01):
            await stubborn()


async def test_a_failing_renewal_ends_the_attempt_with_its_error() -> None:
    renewals = Renewals(failure=ConnectionError("database unreachable"))
    with pytest.raises(ConnectionError, match="database unreachable"):
        async with asyncio.timeout(5), LeaseKeeper(renewals, every=0.01):
            await asyncio.sleep(30)


async def test_the_step_timeout_still_applies_around_the_keeper() -> None:
    renewals = Renewals()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05), LeaseKeeper(renewals, every=0.01):
            await asyncio.sleep(30)
    assert renewals.calls >= 1


async def test_an_outer_cancellation_goes_through_even_when_the_lease_is_lost() -> None:
    renewals = Renewals(alive=False)
    entered = asyncio.Event()

    async def step() -> None:
        async with LeaseKeeper(renewals, every=0.01):
            entered.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(step())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
