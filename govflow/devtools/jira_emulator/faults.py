"""Faults the emulator injects into the Jira API's answers, for the next N matching requests.

Kinds:

- ``rate_limit``: answer 429 with ``Retry-After`` and Jira's rate-limit headers, change nothing;
- ``error``: answer ``status`` (a 5xx), change nothing;
- ``slow``: wait ``delay`` seconds, then handle the request normally;
- ``drop_after_apply``: handle the request (its write happens), then close the connection
  without answering: the client's response is lost;
- ``drop_before_apply``: close the connection without handling the request.

A fault matches a request by ``method`` and by ``path`` (a regular expression searched in the
request path); both default to every request. Faults are consulted in the order they were
injected; the first one that matches applies and counts one of its ``count`` uses.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

FaultKind = Literal["rate_limit", "error", "slow", "drop_after_apply", "drop_before_apply"]


class Fault(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One fault and the requests it applies to (see the module docstring)."""

    kind: FaultKind
    count: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1
    method: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]+$")] | None = None
    path: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None
    status: Annotated[int, msgspec.Meta(ge=500, le=599)] = 503
    retry_after: Annotated[int, msgspec.Meta(ge=0, le=3600)] = 1
    delay: Annotated[float, msgspec.Meta(ge=0, le=120)] = 1.0

    def __post_init__(self) -> None:
        if self.path is not None:
            try:
                re.compile(self.path)
            except re.error as exc:
                raise ValueError(f"path is not a regular expression: {exc}") from None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or re.search(self.path, path) is not None
        )


class ActiveFault(msgspec.Struct, kw_only=True):
    """A fault and how many of its uses are left."""

    fault: Fault
    remaining: int


class FaultPlan:
    """The injected faults, consumed as matching requests arrive."""

    def __init__(self) -> None:
        self._active: list[ActiveFault] = []

    def add(self, fault: Fault) -> None:
        self._active.append(ActiveFault(fault=fault, remaining=fault.count))

    def clear(self) -> None:
        self._active.clear()

    def active(self) -> list[ActiveFault]:
        return [ActiveFault(fault=a.fault, remaining=a.remaining) for a in self._active]

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that applies to this request, one of its uses counted; ``None`` if none."""
        for active in self._active:
            if active.fault.matches(method, path):
                active.remaining -= 1
                if active.remaining == 0:
                    self._active.remove(active)
                return active.fault
        return None
