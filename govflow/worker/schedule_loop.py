"""The scheduler's trigger loop: fire the schedule triggers' due slots every second."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from govflow.bootstrap import Container

log = logging.getLogger("govflow.triggers")

TICK_SECONDS = 1.0
"""How often the scheduler looks for due slots (a six-field cron may fire every second)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def run_schedule_triggers(
    services: Container, stop: asyncio.Event, clock: Callable[[], datetime] = _utc_now
) -> None:
    """Fire due slots every :data:`TICK_SECONDS` until ``stop`` is set; an outage is logged
    and the next tick tries again (no slot is lost: the bookmark moves only after firing)."""
    firer = services.schedule_firer()
    while not stop.is_set():
        try:
            report = await firer.fire_once(clock())
            if report.fired or report.missed or report.failed:
                log.info("schedule triggers: %s", report)
        except Exception:  # a database or Redis outage: log and keep ticking
            log.exception("schedule triggers failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), TICK_SECONDS)
