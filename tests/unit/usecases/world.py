"""A GovFlow engine over the in-memory fakes: test actions, workflows, a runner and a sweeper."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar
from uuid import UUID

import msgspec

from govflow.core.idempotency import Idempotency
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.core.validation import validate_workflow
from govflow.plugins import Action, ActionContext, BusinessError, TechnicalError
from govflow.plugins.action import Suspend
from govflow.plugins.registry import ActionRegistry
from govflow.usecases.action_host import ActionHost
from govflow.usecases.run_step import StepRunner
from govflow.usecases.sweep import Sweeper

from .fakes import FakeDatabase, FakeExecutionControl, FakeQueue, FakeSpecs, FakeStepStore

LEASE = timedelta(seconds=30)


class ValueInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    value: Any = None


class _Test(Action):
    description: ClassVar[str] = "a unit-test action"
    inputs: ClassVar[type[msgspec.Struct]] = ValueInputs
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    def __init__(self) -> None:
        self.calls: list[int] = []  # the attempt of each call

    async def execute(self, ctx: ActionContext, params: ValueInputs) -> Mapping[str, Any]:
        self.calls.append(ctx.attempt)
        return await self.run(ctx, params)

    async def run(self, ctx: ActionContext, params: ValueInputs) -> Mapping[str, Any]:
        return {"value": params.value}


class Echo(_Test):
    name: ClassVar[str] = "echo"


class Flaky(_Test):
    """Fails technically until its ``failures`` are used up."""

    name: ClassVar[str] = "flaky"

    def __init__(self, failures: int = 1) -> None:
        super().__init__()
        self.failures = failures

    async def run(self, ctx: ActionContext, params: ValueInputs) -> Mapping[str, Any]:
        if len(self.calls) <= self.failures:
            raise TechnicalError("the remote side timed out")
        return {"value": params.value}


class Refuse(_Test):
    name: ClassVar[str] = "refuse"

    async def run(self, ctx: ActionContext, params: ValueInputs) -> Mapping[str, Any]:
        raise BusinessError("the permit number is unknown")


class Ask(_Test):
    name: ClassVar[str] = "ask"

    async def run(self, ctx: ActionContext, params: ValueInputs) -> Mapping[str, Any]:
        raise Suspend("human_task", {"title": "Review", "assignee": {"role": "OPERATOR"}})


class Mail(_Test):
    name: ClassVar[str] = "mail"
    idempotency: ClassVar[Idempotency] = Idempotency.AT_MOST_ONCE


class Remote(_Test):
    """Remote lookup: ``found`` is what ``lookup`` answers; an exception in it is raised."""

    name: ClassVar[str] = "remote"
    idempotency: ClassVar[Idempotency] = Idempotency.REMOTE_LOOKUP

    def __init__(self) -> None:
        super().__init__()
        self.found: Mapping[str, Any] | Exception | None = None

    async def lookup(self, ctx: ActionContext, params: ValueInputs) -> Mapping[str, Any] | None:
        if isinstance(self.found, Exception):
            raise self.found
        return self.found


class Hook(_Test):
    """Calls ``during`` (awaitable) while it runs: something happens to the step meanwhile."""

    name: ClassVar[str] = "hook"

    def __init__(self) -> None:
        super().__init__()
        self.during: Callable[[], Any] | None = None

    async def run(self, ctx: ActionContext, params: ValueInputs) -> Mapping[str, Any]:
        if self.during is not None:
            await self.during()
        return {"value": params.value}


@dataclass
class World:
    """The fakes, the actions and the use cases over them, sharing one clock (``db.now``)."""

    db: FakeDatabase = field(default_factory=FakeDatabase)
    specs: FakeSpecs = field(default_factory=FakeSpecs)
    queue: FakeQueue = field(default_factory=FakeQueue)
    echo: Echo = field(default_factory=Echo)
    flaky: Flaky = field(default_factory=Flaky)
    refuse: Refuse = field(default_factory=Refuse)
    ask: Ask = field(default_factory=Ask)
    mail: Mail = field(default_factory=Mail)
    remote: Remote = field(default_factory=Remote)
    hook: Hook = field(default_factory=Hook)

    def __post_init__(self) -> None:
        self.store = FakeStepStore(self.db)
        self.control = FakeExecutionControl(self.db)
        self.registry = ActionRegistry()
        for action in (
            self.echo,
            self.flaky,
            self.refuse,
            self.ask,
            self.mail,
            self.remote,
            self.hook,
        ):
            self.registry.add(action)
        self.host = ActionHost(actions=self.registry)
        self.runner = self.worker("worker-1")

    def worker(self, worker_id: str) -> StepRunner:
        return StepRunner(
            store=self.store,
            specs=self.specs,
            queue=self.queue,
            host=self.host,
            worker_id=worker_id,
            lease=LEASE,
            rng=random.Random(7),
            clock=lambda: self.db.now,
        )

    def sweeper(self) -> Sweeper:
        return Sweeper(
            store=self.store,
            specs=self.specs,
            queue=self.queue,
            host=self.host,
            worker_id="sweeper",
            lease=LEASE,
            resend_after=timedelta(seconds=5),
            rng=random.Random(7),
            clock=lambda: self.db.now,
        )

    def start(
        self, text: str, inputs: Mapping[str, Any] | None = None, department: UUID | None = None
    ) -> tuple[UUID, UUID]:
        """Validate ``text`` and start an execution of it: its id and its first step's id."""
        spec = validate_workflow(text, "<test>", self.registry.inputs())
        return self.db.start(spec, self.specs.add(spec), inputs, department)

    def later(self, delta: timedelta) -> None:
        self.db.now += delta

    def status(self, execution_id: UUID) -> ExecutionStatus:
        return self.db.executions[execution_id].status

    def steps(self, execution_id: UUID) -> list[tuple[str, StepStatus, int]]:
        return [(s.key, s.status, s.attempt) for s in self.db.steps_of(execution_id)]


def workflow(
    *steps: str, retry: str = "{max_attempts: 3, initial_delay: 1m, jitter: false}"
) -> str:
    """A workflow text with these step lines (``{id: a, action: echo, ...}``)."""
    body = "\n".join(f"  - {line}" for line in steps)
    return f"""
name: unit
title: Unit
department: general-administration
inputs:
  n: {{type: integer, required: false}}
defaults:
  retry: {retry}
steps:
{body}
"""
