"""The stream broker over a real Redis: wake-ups sent, delivered once and acknowledged."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from taskiq import BrokerMessage

from govflow.adapters.queue.broker import build_broker


def _wake(number: int) -> BrokerMessage:
    return BrokerMessage(
        task_id=f"t{number}", task_name="run_step", message=f"{number}".encode(), labels={}
    )


async def _received(broker: object, count: int) -> list[bytes]:
    bodies: list[bytes] = []
    async with asyncio.timeout(10):
        async for message in broker.listen():  # type: ignore[attr-defined]
            bodies.append(bytes(message.data))
            await message.ack()
            if len(bodies) == count:
                return bodies
    raise AssertionError("unreachable")


async def test_every_wake_up_sent_is_delivered_once_and_acknowledged(
    redis_url: str, redis_namespace: str
) -> None:
    queue = f"{redis_namespace}:steps"
    broker = build_broker(redis_url, queue_name=queue)
    await broker.startup()
    client = aioredis.Redis.from_url(redis_url)
    try:
        for number in range(120):
            await broker.kick(_wake(number))
        assert await client.xlen(queue) == 120

        bodies = await _received(broker, 120)

        assert sorted(bodies, key=int) == [f"{n}".encode() for n in range(120)]
        pending = await client.xpending(queue, "govflow-workers")
        assert pending["pending"] == 0
    finally:
        await broker.shutdown()
        await client.aclose()


async def test_an_unacknowledged_wake_up_stays_pending_for_redelivery(
    redis_url: str, redis_namespace: str
) -> None:
    queue = f"{redis_namespace}:steps"
    broker = build_broker(redis_url, queue_name=queue)
    await broker.startup()
    client = aioredis.Redis.from_url(redis_url)
    try:
        await broker.kick(_wake(1))
        await broker.kick(_wake(2))
        async with asyncio.timeout(10):
            async for message in broker.listen():
                if bytes(message.data) == b"2":
                    await message.ack()
                    break
        pending = await client.xpending(queue, "govflow-workers")
        assert pending["pending"] == 1
    finally:
        await broker.shutdown()
        await client.aclose()
