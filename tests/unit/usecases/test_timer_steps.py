"""A ``wait`` step in the worker, over the in-memory fakes: it suspends with its due time kept
(guarded by the claim), completes at once when that time has passed, and fails clearly when the
host keeps no timers or a plugin suspends on a timer without a due time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from govflow_wait import WaitAction

from govflow.core.statuses import ExecutionStatus as X
from govflow.core.statuses import StepStatus as S
from govflow.core.timers import TIMER_WAIT
from govflow.plugins import ActionContext
from govflow.plugins.action import Suspend
from govflow.usecases.ports import ClaimedStep

from .world import ValueInputs, World, _Test, workflow


class _Timers:
    """The timer writes, in memory: the due time each step was suspended until."""

    def __init__(self, current: bool = True) -> None:
        self.opened: dict[UUID, datetime] = {}
        self.current = current

    async def open(self, claim: ClaimedStep, due_at: datetime) -> bool:
        if self.current:
            self.opened[claim.step_id] = due_at
        return self.current

    async def due(self, now: datetime, limit: int) -> list[Any]:
        return []


class _NoDueTime(_Test):
    """A third-party action that suspends on a timer and forgets its due time."""

    name: ClassVar[str] = "forgetful"

    async def run(self, ctx: ActionContext, params: ValueInputs) -> Mapping[str, Any]:
        raise Suspend(TIMER_WAIT, {"when": "soon"})


def _world(timers: _Timers | None = None) -> World:
    world = World()
    world.registry.add(WaitAction(clock=lambda: world.db.now))
    world.registry.add(_NoDueTime())
    world.runner.timers = timers
    return world


def _error(world: World, step_id: UUID) -> dict[str, Any]:
    error = world.db.steps[step_id].error
    return error if isinstance(error, dict) else json.loads(str(error))


async def test_a_wait_step_suspends_with_its_due_time_kept() -> None:
    timers = _Timers()
    world = _world(timers)
    execution, first = world.start(
        workflow("{id: hold, action: wait, with: {for: 14d}}", "{id: after, action: echo}")
    )
    await world.runner.run(first)
    assert world.steps(execution) == [("hold", S.WAITING, 1), ("after", S.PENDING, 0)]
    assert world.status(execution) is X.WAITING
    assert timers.opened == {first: world.db.now + timedelta(days=14)}


async def test_a_due_time_already_passed_completes_the_step_at_once() -> None:
    timers = _Timers()
    world = _world(timers)
    execution, first = world.start(
        workflow("{id: hold, action: wait, with: {until: '2000-01-01T00:00:00Z'}}")
    )
    await world.runner.run(first)
    assert world.steps(execution) == [("hold", S.COMPLETED, 1)]
    assert world.status(execution) is X.COMPLETED
    assert world.db.steps[first].output == {"due_at": "2000-01-01T00:00:00+00:00", "waited": False}
    assert timers.opened == {}


async def test_a_host_without_timers_fails_the_step() -> None:
    world = _world(None)
    execution, first = world.start(workflow("{id: hold, action: wait, with: {for: 1h}}"))
    await world.runner.run(first)
    assert world.steps(execution) == [("hold", S.FAILED, 1)]
    assert _error(world, first)["code"] == "INVALID_SUSPEND"


async def test_a_timer_without_a_due_time_fails_the_step() -> None:
    timers = _Timers()
    world = _world(timers)
    execution, first = world.start(workflow("{id: hold, action: forgetful, with: {value: 1}}"))
    await world.runner.run(first)
    assert world.steps(execution) == [("hold", S.FAILED, 1)]
    error = _error(world, first)
    assert error["code"] == "INVALID_SUSPEND"
    assert "a timer needs its due_at" in error["message"]
    assert timers.opened == {}


async def test_a_lost_claim_keeps_no_timer_and_records_nothing() -> None:
    world = _world(_Timers(current=False))
    execution, first = world.start(workflow("{id: hold, action: wait, with: {for: 1h}}"))
    await world.runner.run(first)
    assert world.steps(execution) == [("hold", S.RUNNING, 1)]  # the lease's expiry recovers it
