"""Reading an HTTP ``Retry-After`` header for ``TechnicalError(retry_after=...)``.

A plugin that calls a remote service passes the answer's header on::

    raise TechnicalError("rate limited", retry_after=parse_retry_after(response.headers.get(
        "Retry-After")))

and the engine waits at least that long before the next attempt (see ``docs/plugins.md``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait: delay-seconds (``"120"``) or an
    HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``, counted from ``now``); ``None`` when the
    header is absent or unreadable. A date in the past means no wait (``0.0``)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
