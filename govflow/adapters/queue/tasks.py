"""The Taskiq side of the engine: one task that runs a step, and the queue port that kicks it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from redis.exceptions import RedisError
from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker

RUN_STEP_TASK = "govflow.run_step"

log = logging.getLogger("govflow.queue")


class TaskiqStepQueue:
    """The ``StepQueue`` port: one small message (the step id) per wake-up."""

    def __init__(self, broker: AsyncBroker) -> None:
        self._kicker: AsyncKicker[[str], None] = AsyncKicker(RUN_STEP_TASK, broker, {})

    async def wake(self, step_ids: Sequence[UUID]) -> None:
        """Send the wake-ups; when Redis is unreachable, log it: the sweeper re-sends them."""
        try:
            for step_id in step_ids:
                await self._kicker.kiq(str(step_id))
        except (RedisError, OSError) as exc:
            log.warning("could not send %d wake-up(s): %s", len(step_ids), exc)


def register_run_step(broker: AsyncBroker, run: Callable[[UUID], Awaitable[None]]) -> None:
    """Register the task the workers execute for each message."""

    async def run_step(step_id: str) -> None:
        await run(UUID(step_id))

    broker.register_task(run_step, task_name=RUN_STEP_TASK)
