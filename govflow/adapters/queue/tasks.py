"""The Taskiq side of the engine: one task that runs a step, and the queue port that kicks it.

With tracing on, each wake-up is a producer span whose W3C context travels in the message's
labels (``traceparent``, ``tracestate``); the worker continues it in a consumer span around the
steps it runs, so an execution's steps are in the trace that woke them, across processes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from redis.exceptions import RedisError
from taskiq import AsyncBroker, Context, TaskiqDepends
from taskiq.kicker import AsyncKicker

from govflow.usecases.tracing import SpanKind, tracing

RUN_STEP_TASK = "govflow.run_step"

log = logging.getLogger("govflow.queue")
_CONTEXT: Context = TaskiqDepends()


class TaskiqStepQueue:
    """The ``StepQueue`` port: one small message (the step id) per wake-up."""

    def __init__(self, broker: AsyncBroker) -> None:
        self._broker = broker
        self._kicker: AsyncKicker[[str], None] = AsyncKicker(RUN_STEP_TASK, broker, {})

    async def wake(self, step_ids: Sequence[UUID]) -> None:
        """Send the wake-ups; when Redis is unreachable, log it: the sweeper re-sends them."""
        traced = tracing()
        try:
            for step_id in step_ids:
                if not traced.enabled:
                    await self._kicker.kiq(str(step_id))
                    continue
                with traced.span(
                    "govflow.wake_up send",
                    kind=SpanKind.PRODUCER,
                    attributes={"govflow.step_id": str(step_id)},
                ) as span:
                    try:
                        kicker: AsyncKicker[[str], None] = AsyncKicker(
                            RUN_STEP_TASK, self._broker, traced.carrier()
                        )
                        await kicker.kiq(str(step_id))
                    except (RedisError, OSError) as exc:
                        span.set_error(str(exc))
                        raise
        except (RedisError, OSError) as exc:
            log.warning("could not send %d wake-up(s): %s", len(step_ids), exc)


def register_run_step(broker: AsyncBroker, run: Callable[[UUID], Awaitable[None]]) -> None:
    """Register the task the workers execute for each message."""

    async def run_step(step_id: str, context: Context = _CONTEXT) -> None:
        traced = tracing()
        if not traced.enabled:
            await run(UUID(step_id))
            return
        labels = context.message.labels
        parent: dict[str, str] = {
            key: str(labels[key]) for key in ("traceparent", "tracestate") if key in labels
        }
        with traced.span(
            "govflow.wake_up receive",
            kind=SpanKind.CONSUMER,
            parent=parent,
            attributes={"govflow.step_id": step_id},
        ):
            await run(UUID(step_id))

    broker.register_task(run_step, task_name=RUN_STEP_TASK)
