"""What an attempt's context costs and keeps: the resume token is drawn only when read (by the
action, or by the worker when the action suspends on a signal) and the wait is opened with the
hash of that same token; the step's ids are named for its log lines while it runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from uuid import UUID

import pytest

from govflow.core.statuses import ExecutionStatus as X
from govflow.core.statuses import StepStatus as S
from govflow.plugins import ActionContext
from govflow.plugins.action import Suspend
from govflow.usecases.action_host import AttemptContext
from govflow.usecases.long_actions import token_hash
from govflow.usecases.ports import ClaimedStep
from govflow.usecases.step_log import running_step_fields

from .world import Echo, ValueInputs, World, _Test, workflow

_TOKEN_SLOT = ActionContext.__dict__["resume_token"]


def _drawn(ctx: ActionContext) -> str | None:
    """The token a context holds, without drawing one."""
    token: str | None = _TOKEN_SLOT.__get__(ctx, ActionContext)
    return token


class _Waits:
    """The long-action writes, in memory: the hash each wait was opened with."""

    def __init__(self) -> None:
        self.opened: dict[UUID, str] = {}

    async def heartbeat(self, claim: ClaimedStep, lease: timedelta, progress: Any) -> bool:
        return True

    async def open_wait(self, claim: ClaimedStep, resume_token_hash: str) -> bool:
        self.opened[claim.step_id] = resume_token_hash
        return True


class _Callback(_Test):
    """Hands the token out (when ``reads``) and waits for the callback."""

    name: ClassVar[str] = "callback"

    def __init__(self, reads: bool) -> None:
        super().__init__()
        self.reads = reads
        self.contexts: list[ActionContext] = []
        self.handed_out: list[str] = []

    async def run(self, ctx: ActionContext, params: ValueInputs) -> Mapping[str, Any]:
        self.contexts.append(ctx)
        if self.reads:
            token = ctx.resume_token
            assert token is not None
            self.handed_out.append(token)
        raise Suspend("payment_callback", {"order": params.value})


class _Watch(Echo):
    """An echo that keeps its contexts and the step ids its log lines would carry."""

    name: ClassVar[str] = "watch"

    def __init__(self) -> None:
        super().__init__()
        self.contexts: list[ActionContext] = []
        self.named: list[dict[str, Any] | None] = []

    async def run(self, ctx: ActionContext, params: ValueInputs) -> Mapping[str, Any]:
        self.contexts.append(ctx)
        self.named.append(running_step_fields())
        return {"value": params.value}


def _world(*actions: _Test) -> tuple[World, _Waits]:
    world = World()
    for action in actions:
        world.registry.add(action)
    waits = _Waits()
    world.runner.long_actions = waits
    return world, waits


def test_a_resumable_context_draws_its_token_when_first_read_and_keeps_it() -> None:
    world = World()
    execution, first = world.start(workflow("{id: a, action: echo}"))
    claim = ClaimedStep(
        step_id=first,
        execution_id=execution,
        workflow_version_id=execution,
        department_id=None,
        position=0,
        step_key="a",
        action="echo",
        attempt=1,
        fencing_token=1,
        idempotency_key="k",
        execution_status=X.RUNNING,
    )
    ctx = world.host.context(claim, world.echo, resumable=True)
    assert isinstance(ctx, AttemptContext)
    assert _drawn(ctx) is None
    token = ctx.resume_token
    assert token is not None
    assert len(token) >= 43
    assert ctx.resume_token == token == _drawn(ctx)
    assert dataclasses.replace(ctx, attempt=2).resume_token == token
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.resume_token = "chosen"  # type: ignore[misc]
    other = world.host.context(claim, world.echo, resumable=True)
    assert other.resume_token != token  # a fresh secret per attempt
    assert world.host.context(claim, world.echo).resume_token is None  # a lookup's: none


async def test_the_wait_is_opened_with_the_hash_of_the_token_the_action_handed_out() -> None:
    callback = _Callback(reads=True)
    world, waits = _world(callback)
    execution, first = world.start(workflow("{id: pay, action: callback, with: {value: 7}}"))
    await world.runner.run(first)
    assert world.steps(execution) == [("pay", S.WAITING, 1)]
    [token] = callback.handed_out
    assert waits.opened == {first: token_hash(token)}


async def test_an_action_that_suspends_without_reading_the_token_still_gets_a_wait() -> None:
    callback = _Callback(reads=False)
    world, waits = _world(callback)
    execution, first = world.start(workflow("{id: pay, action: callback, with: {value: 7}}"))
    await world.runner.run(first)
    assert world.steps(execution) == [("pay", S.WAITING, 1)]
    [ctx] = callback.contexts
    token = _drawn(ctx)
    assert token is not None  # drawn by the worker when the action suspended
    assert waits.opened == {first: token_hash(token)}


async def test_a_step_that_does_not_suspend_draws_no_token_and_is_named_while_it_runs() -> None:
    watch = _Watch()
    world, waits = _world(watch)
    execution, first = world.start(
        workflow("{id: a, action: watch, with: {value: 1}}", "{id: b, action: watch}")
    )
    assert running_step_fields() is None
    await world.runner.run(first)
    assert world.status(execution) is X.COMPLETED
    assert [_drawn(ctx) for ctx in watch.contexts] == [None, None]
    assert waits.opened == {}
    steps = world.db.steps_of(execution)
    assert watch.named == [
        {
            "execution_id": str(execution),
            "workflow": "unit",
            "step_id": str(step.id),
            "step": step.key,
            "attempt": 1,
        }
        for step in steps
    ]
    assert running_step_fields() is None  # restored when the execution is left
