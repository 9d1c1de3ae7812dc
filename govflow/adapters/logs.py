"""Structured logging: JSON lines (or a console renderer in development) for stdlib and structlog.

Context such as ``request_id`` (or the sweeper's step ids while it recovers a step) is bound
with ``structlog.contextvars``, and a worker's ``execution_id``, ``step``, ``step_id``,
``attempt`` and ``workflow`` while it runs a step come from the step it names
(:mod:`govflow.usecases.step_log`): both appear on every line logged meanwhile, by structlog
loggers and stdlib loggers alike.
The fields a stdlib call passes as ``extra={...}`` (an action's ``ctx.logger`` included) and the
keyword arguments of a structlog call appear on their line too. With tracing on, every line
logged inside a span carries ``trace_id`` and ``span_id``.
"""

from __future__ import annotations

import logging
import sys

import structlog

from govflow.usecases.step_log import running_step_fields
from govflow.usecases.tracing import trace_ids


def add_trace_ids(
    logger: object, method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """The current span's ``trace_id`` and ``span_id`` (nothing when tracing is off)."""
    ids = trace_ids()
    if ids is not None:
        event_dict.setdefault("trace_id", ids[0])
        event_dict.setdefault("span_id", ids[1])
    return event_dict


def add_step_ids(
    logger: object, method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """The ids of the step the worker is running (nothing outside a step)."""
    fields = running_step_fields()
    if fields is not None:
        for key, value in fields.items():
            event_dict.setdefault(key, value)
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        add_step_ids,
        add_trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # a disabled level costs nothing more
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("taskiq", "uvicorn.access", "httpx", "piccolo", "pgserver", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
