"""The Taskiq broker over Redis streams: messages carry ids only and are wake-ups.

``RedisStreamBroker`` acknowledges a message after the task ran and redelivers messages that a
dead worker left unacknowledged (after ``idle_timeout``). The database stays the source of truth;
a lost or duplicated message is harmless.
"""

from __future__ import annotations

from taskiq_redis import RedisStreamBroker


def build_broker(
    redis_url: str, *, queue_name: str, idle_timeout_ms: int = 60_000
) -> RedisStreamBroker:
    """A stream broker whose consumer group also reads messages sent before it existed."""
    return RedisStreamBroker(
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
