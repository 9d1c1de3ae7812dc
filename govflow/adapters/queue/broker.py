"""The Taskiq broker over Redis streams: messages carry ids only and are wake-ups.

``RedisStreamBroker`` acknowledges a message after the task ran and redelivers messages that a
dead worker left unacknowledged (after ``idle_timeout``). The database stays the source of truth:
a lost or duplicated message is harmless, so a Redis outage is ridden out, not fatal — the
listener reconnects with backoff and declares its consumer group again (a Redis restarted without
persistence has lost it), and the sweeper re-sends whatever wake-ups were lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage, BrokerMessage
from taskiq_redis import RedisStreamBroker

log = logging.getLogger("govflow.queue")

RECONNECT_INITIAL_SECONDS = 0.1
RECONNECT_MAX_SECONDS = 2.0
_OUTAGE = (RedisConnectionError, RedisTimeoutError, ResponseError, OSError)


def _tolerant(ack: Callable[[], Awaitable[Any] | Any]) -> Callable[[], Awaitable[None]]:
    async def acknowledge() -> None:
        try:
            result = ack()
            if asyncio.iscoroutine(result):
                await result
        except _OUTAGE as exc:  # unacknowledged: redelivered later, which is harmless
            log.warning("could not acknowledge a message: %s", exc)

    return acknowledge


class ResilientStreamBroker(RedisStreamBroker):
    """A stream broker whose listener survives Redis outages and restarts.

    Wake-ups are sent and acknowledged through one Redis client over the broker's connection
    pool, built once: the base class builds a client (with its table of response callbacks)
    for every message sent and every acknowledgement, a cost paid once per execution by the
    starting process and once more by the worker.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: Redis = Redis(connection_pool=self.connection_pool)

    async def kick(self, message: BrokerMessage) -> None:
        stream = message.labels.get("queue_name") or self.queue_name
        await self._client.xadd(
            stream, {b"data": message.message}, maxlen=self.maxlen, approximate=self.approximate
        )

    def _ack_generator(self, id: str, queue_name: str) -> Callable[[], Awaitable[None]]:
        async def acknowledge() -> None:
            await self._client.xack(queue_name, self.consumer_group_name, id)

        return acknowledge

    async def shutdown(self) -> None:
        await self._client.aclose()
        await super().shutdown()

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:  # type: ignore[override]
        delay = RECONNECT_INITIAL_SECONDS
        while True:
            try:
                async for message in super().listen():
                    delay = RECONNECT_INITIAL_SECONDS
                    yield AckableMessage(data=message.data, ack=_tolerant(message.ack))
            except _OUTAGE as exc:
                log.warning("queue unreachable (%s); reconnecting in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
                try:
                    await self._declare_consumer_group()
                except _OUTAGE:
                    continue


def build_broker(
    redis_url: str, *, queue_name: str, idle_timeout_ms: int = 60_000
) -> RedisStreamBroker:
    """A stream broker whose consumer group also reads messages sent before it existed."""
    return ResilientStreamBroker(
        url=redis_url,
        queue_name=queue_name,
        consumer_group_name="govflow-workers",
        consumer_id="0",
        maxlen=1_000_000,
        approximate=True,
        idle_timeout=idle_timeout_ms,
        unacknowledged_lock_timeout=idle_timeout_ms / 1000,
        xread_block=1000,
    )
