"""Tracing, as a port: spans around what the engine does, and the W3C context that crosses
processes in the wake-up messages.

The default is :class:`NoTracing`, which does nothing at the cost of a function call; a hot
path (each step a worker runs) tests ``tracing().enabled`` once and makes no span or attribute
calls at all when it is false. A process
with tracing on (``OTEL_EXPORTER_OTLP_ENDPOINT`` set and the ``otel`` extra installed) installs
the OpenTelemetry adapter with :func:`install` at start, before it builds anything: like
OpenTelemetry's own provider and Prometheus's registry, there is one per process. Use cases ask
for it with :func:`tracing` when they run, so nothing else needs to carry it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Protocol
from uuid import UUID

AttributeValue = str | int | float | bool


class SpanKind(StrEnum):
    """What a span stands for, in OpenTelemetry's terms."""

    INTERNAL = "internal"
    SERVER = "server"
    CLIENT = "client"
    PRODUCER = "producer"
    CONSUMER = "consumer"


class Span(Protocol):
    """A span being recorded."""

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        """Set ``key`` on the span."""
        ...

    def set_error(self, description: str) -> None:
        """Mark the span as failed, with ``description``."""
        ...

    def update_name(self, name: str) -> None:
        """Rename the span (an HTTP request's, once its route is known)."""
        ...


class _NoSpan:
    def set_attribute(self, key: str, value: AttributeValue) -> None:
        return None

    def set_error(self, description: str) -> None:
        return None

    def update_name(self, name: str) -> None:
        return None


NO_SPAN: Span = _NoSpan()

Carrier = Mapping[str, str]
"""A W3C trace context as text headers: ``traceparent`` (and ``tracestate``)."""


class NoTracing:
    """Tracing off: spans are not recorded, nothing is propagated."""

    enabled = False

    @contextlib.contextmanager
    def span(
        self,
        name: str,
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, AttributeValue] | None = None,
        parent: Carrier | None = None,
        links: Sequence[Carrier] = (),
    ) -> Iterator[Span]:
        """A span named ``name``, current while the block runs.

        :param parent: the context to continue (a carrier received from another process); by
            default the current span's.
        :param links: contexts this span follows from without being their child (a retry or a
            recovery that starts a new trace links to the trace it continues).
        """
        yield NO_SPAN

    def current(self) -> Span:
        """The current span (one that records nothing when there is none)."""
        return NO_SPAN

    def carrier(self) -> dict[str, str]:
        """The current span's context as W3C headers (empty when there is none)."""
        return {}

    def ids(self) -> tuple[str, str] | None:
        """The current trace id and span id, in hex (``None`` outside a recorded span)."""
        return None


class TraceContexts(Protocol):
    """Where an execution's trace started (read only when tracing is on, off the hot path)."""

    async def of_execution(self, execution_id: UUID) -> Carrier | None:
        """The W3C context its start was traced in (``None``: not traced, or unknown)."""
        ...


_current: NoTracing = NoTracing()


def install(implementation: NoTracing) -> None:
    """Make ``implementation`` this process's tracing (called once, at start)."""
    global _current
    _current = implementation


def tracing() -> NoTracing:
    """This process's tracing."""
    return _current


def trace_ids() -> tuple[str, str] | None:
    """The current trace and span ids (``None`` when tracing is off or no span is current)."""
    return _current.ids()
