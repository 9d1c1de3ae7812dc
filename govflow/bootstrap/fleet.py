"""Long actions and fleet awareness, wired: the worker's heartbeats, signal waits and hand-backs,
its row in the workers table, the signal and fire-timer endpoints' use cases and the load
warnings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Sequence
from uuid import UUID

from govflow.adapters.db.fleet import PgFleet
from govflow.adapters.db.long_actions import PgLongActions, PgSignalStore
from govflow.bootstrap.graph import Container
from govflow.usecases.audit import Actor
from govflow.usecases.fire_timer import fire_timer
from govflow.usecases.fleet import BEAT_EVERY, FleetMember, unoffered_warning
from govflow.usecases.operate import OperatorResult
from govflow.usecases.principal import Principal, scope_department
from govflow.usecases.run_step import StepRunner
from govflow.usecases.signals import Signal, Signaled, signal_step

log = logging.getLogger("govflow.fleet")


def equipped_runner(services: Container) -> StepRunner:
    """The container's step runner with heartbeats, signal waits and hand-backs."""
    runner = services.step_runner()
    runner.long_actions = PgLongActions(services.db.pool)
    runner.fleet = PgFleet(services.db.pool)
    return runner


def member(services: Container, worker_id: str) -> FleetMember:
    """This worker process as the fleet records it: its plugins (with versions) and actions."""
    plugins = {
        info.name: info.version or "unknown"
        for info in services.plugins.plugin_info()
        if not getattr(info, "broken", None)
    }
    return FleetMember(
        id=worker_id,
        hostname=socket.gethostname(),
        pid=os.getpid(),
        plugins=plugins,
        actions=tuple(sorted(services.actions.names())),
    )


@contextlib.asynccontextmanager
async def fleet_membership(services: Container, worker_id: str) -> AsyncIterator[None]:
    """Record this worker in the fleet, refresh its heartbeat while the block runs, and remove
    it at the end."""
    fleet = PgFleet(services.db.pool)
    await fleet.join(member(services, worker_id))

    async def beat() -> None:
        while True:
            await asyncio.sleep(BEAT_EVERY.total_seconds())
            try:
                await fleet.beat(worker_id)
            except Exception:  # a database outage: the next beat tries again
                log.warning("worker heartbeat failed", exc_info=True)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        with contextlib.suppress(Exception):
            await fleet.leave(worker_id)


async def load_warnings(services: Container, actions: Sequence[str]) -> list[str]:
    """The warnings a workflow load gives about its ``actions`` (none offered by a live
    worker); empty when every one is offered."""
    live = await PgFleet(services.db.pool).live_actions()
    warning = unoffered_warning(actions, live)
    return [warning] if warning else []


async def signal(
    services: Container, principal: Principal, execution_id: UUID, step_key: str, body: Signal
) -> Signaled:
    """``POST /workflow-executions/{id}/steps/{key}/signal``."""
    return await signal_step(
        PgSignalStore(services.db.pool), services.queue, execution_id, step_key, body, principal
    )


async def fire_timer_now(
    services: Container,
    actor: Actor | Principal,
    execution_id: UUID,
    step_key: str,
    reason: str,
) -> OperatorResult:
    """``POST /workflow-executions/{id}/steps/{key}/fire-timer`` (a principal, scoped to its
    department) and ``govflow executions fire-timer`` (an actor, every department)."""
    if isinstance(actor, Principal):
        who, scope, request_id = actor.actor(), scope_department(actor), actor.request_id
    else:
        who, scope, request_id = actor, None, None
    return await fire_timer(
        PgSignalStore(services.db.pool),
        services.queue,
        execution_id,
        step_key,
        actor=who,
        reason=reason,
        department_scope=scope,
        request_id=request_id,
    )
