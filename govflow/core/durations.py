"""Durations as workflow authors write them: ``500ms``, ``30s``, ``5m``, ``2h``, ``2d``, ``1h30m``.

Units appear from the largest to the smallest, each at most once, every amount a whole number.
"""

from __future__ import annotations

import re
from datetime import timedelta

DURATION_PATTERN = r"^(?=\d)(?:\d+d)?(?:\d+h)?(?:\d+m(?!s))?(?:\d+s)?(?:\d+ms)?$"
"""A regular expression every valid duration matches (also published in the JSON Schema)."""

_PARTS = re.compile(
    r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?$"
)
_MAX_DAYS = 3650
_MAX_LENGTH = 40
_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}


class DurationError(ValueError):
    """A text is not a duration like ``30s``, ``5m`` or ``2d``."""


def duration_message(value: object) -> str:
    """The error text for a value that is not a duration."""
    return f"expected a duration like 30s, 5m or 2d, got {value!r}"


def is_duration(value: object) -> bool:
    """Whether ``value`` is a string that :func:`parse_duration` accepts."""
    if not isinstance(value, str):
        return False
    try:
        parse_duration(value)
    except DurationError:
        return False
    return True


def parse_duration(text: str) -> timedelta:
    """Parse ``text`` (e.g. ``"1h30m"``) into a :class:`~datetime.timedelta`.

    :raises DurationError: ``text`` is not a duration, or is longer than ten years.
    """
    short = isinstance(text, str) and 0 < len(text) <= _MAX_LENGTH and text[0].isdigit()
    match = _PARTS.match(text) if short else None
    if match is None:
        raise DurationError(duration_message(text))
    amounts = {unit: int(value) for unit, value in match.groupdict().items() if value is not None}
    total_ms = sum(amounts[unit] * _UNIT_MS[unit] for unit in amounts)
    if total_ms > _MAX_DAYS * _UNIT_MS["d"]:
        raise DurationError(f"duration {text!r} is longer than {_MAX_DAYS} days")
    return timedelta(milliseconds=total_ms)


def format_duration(delta: timedelta) -> str:
    """Write ``delta`` in the same notation, e.g. ``timedelta(minutes=90)`` -> ``"1h30m"``."""
    total_ms = round(delta.total_seconds() * 1000)
    if total_ms < 0:
        raise DurationError(f"a duration cannot be negative, got {delta}")
    if total_ms == 0:
        return "0s"
    parts: list[str] = []
    for unit, size in _UNIT_MS.items():
        amount, total_ms = divmod(total_ms, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)
