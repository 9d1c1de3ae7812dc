"""Durations: parsing, formatting, errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from govflow.core.durations import DurationError, format_duration, is_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", timedelta(milliseconds=500)),
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("2h", timedelta(hours=2)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(minutes=90)),
        ("1d2h3m4s5ms", timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)),
        ("0s", timedelta(0)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize(
    "text", ["", "5", "5 minutes", "m5", "1m1h", "1.5h", "-1s", "5M", "1s1s", "9" * 5000 + "s"]
)
def test_refused(text: str) -> None:
    with pytest.raises(DurationError, match="expected a duration like 30s, 5m or 2d"):
        parse_duration(text)
    assert not is_duration(text)


def test_too_long() -> None:
    with pytest.raises(DurationError, match="longer than"):
        parse_duration("4000d")


def test_not_text() -> None:
    assert not is_duration(30)


def test_format() -> None:
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert format_duration(timedelta(0)) == "0s"
    with pytest.raises(DurationError):
        format_duration(timedelta(seconds=-1))
