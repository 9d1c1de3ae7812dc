"""A test plugin whose action ``http_get`` calls a URL through the host's client (``ctx.http``)
and returns the status: an outgoing plugin call, for the tracing tests.

Loaded into worker processes with ``GOVFLOW_PLUGINS_MODULES=tests.support.http_call_plugin``;
the URL must be allowed by ``OUTBOUND_ALLOW_NETWORKS`` (``127.0.0.1/32`` on loopback).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from govflow.plugins import Action, ActionContext, ActionRegistry, Idempotency, hookimpl


class HttpGetInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str


class HttpGet(Action):
    name: ClassVar[str] = "http_get"
    description: ClassVar[str] = "GET a URL through ctx.http (tests only)"
    inputs: ClassVar[type[msgspec.Struct]] = HttpGetInputs
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    async def execute(self, ctx: ActionContext, params: HttpGetInputs) -> Mapping[str, Any]:
        response = await ctx.http.get(params.url)
        ctx.logger.info("called", extra={"status": response.status_code})
        return {"status": response.status_code}


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    register.add(HttpGet())
