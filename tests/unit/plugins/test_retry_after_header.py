"""``parse_retry_after``: delay-seconds, HTTP-dates, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from govflow.plugins.retry_after import parse_retry_after

NOW = datetime(2015, 10, 21, 7, 26, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 120.0),
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),
        ("-5", 0.0),
    ],
)
def test_readable_headers(header: str, seconds: float) -> None:
    assert parse_retry_after(header, NOW) == seconds


@pytest.mark.parametrize("header", [None, "", "soon", "nan", "inf", "Someday, 99 Foo"])
def test_unreadable_headers_ask_for_nothing(header: str | None) -> None:
    assert parse_retry_after(header, NOW) is None
