"""Schedule triggers: which cron slots fire now, decided from the last slot seen and ``now``.

A slot is one time the cron expression names, read in the trigger's time zone (cronsim walks
daylight-saving changes: a slot in a skipped hour fires once at the jump, a slot in a repeated
hour fires once). A scheduler asks :func:`plan` with the last slot it (or any scheduler) handled
and the time now; the answer is the slots to fire and the slots skipped under the catch-up
policy. A slot is *on time* while it is less than :data:`ON_TIME` old: every policy fires it.
Older slots passed while no scheduler ran, and the policy says what happens to them.

Pure: the clock is passed in; cronsim and zoneinfo only compute.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from cronsim import CronSim, CronSimError

from govflow.core.trigger_spec import CatchUp, ScheduleTrigger

ON_TIME = timedelta(seconds=60)
"""How late a slot may be seen and still count as on time (fired under any policy)."""
MAX_CATCH_UP = 100
"""The most slots one plan fires (``catch_up: all`` after a long outage: the newest ones)."""
_MAX_WALK = 100_000
"""The most slots one plan walks through (a six-field cron every second over a day: 86,400)."""


class ScheduleError(ValueError):
    """The cron expression or the time zone cannot be used."""


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """What a scheduler does now for one schedule trigger."""

    fire: tuple[datetime, ...]
    """The slots to start an execution for, oldest first (UTC)."""
    missed: tuple[datetime, ...]
    """The slots passed while no scheduler ran that the policy skips (the newest
    :data:`MAX_CATCH_UP`, oldest first, UTC)."""
    missed_count: int
    """How many slots were skipped in all."""
    last: datetime
    """The slot to remember as handled: the newest slot at or before ``now`` (or the given
    last slot when none is due)."""


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name``.

    :raises ScheduleError: no such IANA time zone.
    """
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        raise ScheduleError(f"unknown time zone {name!r} (use an IANA name like 'Europe/Paris')")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(
            f"unknown time zone {name!r} (use an IANA name like 'Europe/Paris')"
        ) from None


def check_cron(expression: str) -> None:
    """:raises ScheduleError: the expression is not a cron expression cronsim can walk."""
    try:
        CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as error:
        raise ScheduleError(f"not a cron expression: {error}") from None
    except (ValueError, IndexError, KeyError) as error:
        raise ScheduleError(f"not a cron expression: {error}") from None


def _slots(trigger: ScheduleTrigger, after: datetime) -> Iterator[datetime]:
    """The slots strictly after ``after``, in UTC."""
    local = after.astimezone(zone(trigger.timezone))
    for slot in CronSim(trigger.cron, local):
        yield slot.astimezone(UTC)


def next_slot(trigger: ScheduleTrigger, after: datetime) -> datetime | None:
    """The first slot strictly after ``after`` (UTC; ``None``: the cron names no more)."""
    return next(_slots(trigger, after), None)


def plan(trigger: ScheduleTrigger, last: datetime, now: datetime) -> Plan:
    """The slots after ``last`` and at or before ``now``: which fire, which are skipped.

    :param last: the newest slot handled before (or when the trigger was first seen).
    """
    on_time: list[datetime] = []
    late: list[datetime] = []
    late_count = 0
    newest = last
    for walked, slot in enumerate(_slots(trigger, last)):
        if slot > now:
            break
        newest = slot
        if now - slot < ON_TIME:
            on_time.append(slot)
        else:
            late_count += 1
            late.append(slot)
            del late[:-MAX_CATCH_UP]
        if walked >= _MAX_WALK:  # a bounded walk: the rest is skipped
            newest = now
            break
    fire, missed = _apply(trigger.catch_up, late)
    fired_late = len(late) - len(missed)
    return Plan(
        fire=(*fire, *on_time)[-MAX_CATCH_UP:],
        missed=tuple(missed),
        missed_count=late_count - fired_late,
        last=newest,
    )


def _apply(policy: CatchUp, late: list[datetime]) -> tuple[list[datetime], list[datetime]]:
    """(fired, skipped) among the late slots."""
    if policy == "all":
        return late, []
    if policy == "latest" and late:
        return late[-1:], late[:-1]
    return [], late
