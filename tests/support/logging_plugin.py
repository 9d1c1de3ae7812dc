"""A test plugin whose action logs the three ways an action may: its own ``ctx.logger`` with
``extra`` fields, a structlog logger with keyword arguments, and a library's stdlib logger. It
fails its first attempt when asked to, so that a second attempt logs too.

Loaded into worker processes with ``GOVFLOW_PLUGINS_MODULES=tests.support.logging_plugin``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec
import structlog

from govflow.plugins import (
    Action,
    ActionContext,
    ActionRegistry,
    Idempotency,
    TechnicalError,
    hookimpl,
)

LIBRARY = logging.getLogger("tests.logging_plugin.library")


class ChattyInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    order: int
    fail_first: bool = False


class Chatty(Action):
    name: ClassVar[str] = "chatty"
    description: ClassVar[str] = "logs with extras (tests only)"
    inputs: ClassVar[type[msgspec.Struct]] = ChattyInputs
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    async def execute(self, ctx: ActionContext, params: ChattyInputs) -> Mapping[str, Any]:
        ctx.logger.info("order received", extra={"order": params.order, "channel": "extra"})
        structlog.get_logger("tests.logging_plugin").info(
            "order checked", order=params.order, channel="structlog"
        )
        LIBRARY.warning("library call for order %s", params.order)
        if params.fail_first and ctx.attempt == 1:
            raise TechnicalError("the first attempt fails on purpose")
        return {"order": params.order}


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    register.add(Chatty())
