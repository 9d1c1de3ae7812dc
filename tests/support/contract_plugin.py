"""A test plugin for contract v1: a rate-limited call that names its wait, a long action that
reports progress, and a callback-style action that suspends on a signal.

Loaded into worker processes with ``GOVFLOW_PLUGINS_MODULES=tests.support.contract_plugin``.
The callback action writes its resume token to ``$GOVFLOW_TEST_CONTRACT_DIR/<step id>.token``,
standing in for the external system it would hand the token to.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import msgspec

from govflow.plugins import (
    Action,
    ActionContext,
    ActionRegistry,
    Idempotency,
    Suspend,
    TechnicalError,
    hookimpl,
)


class RateLimitedInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    retry_after_seconds: float = 2.0


class RateLimited(Action):
    """Fails its first attempt as a 429 would, naming the wait and the answer's details."""

    name: ClassVar[str] = "contract_rate_limited"
    description: ClassVar[str] = "a 429 on the first attempt (tests only)"
    inputs: ClassVar[type[msgspec.Struct]] = RateLimitedInputs
    idempotency: ClassVar[Idempotency] = Idempotency.REMOTE_KEY

    async def execute(self, ctx: ActionContext, params: RateLimitedInputs) -> Mapping[str, Any]:
        if ctx.attempt == 1:
            raise TechnicalError(
                "the remote service is rate limiting",
                details={"status_code": 429, "remaining": 0},
                retry_after=timedelta(seconds=params.retry_after_seconds),
            )
        return {"attempt": ctx.attempt}


class LongInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    seconds: float = 3.0
    beat_every: float = 0.2


class Long(Action):
    """Runs ``seconds``, calling ``ctx.heartbeat`` with its progress every ``beat_every``."""

    name: ClassVar[str] = "contract_long"
    description: ClassVar[str] = "a long action reporting progress (tests only)"
    inputs: ClassVar[type[msgspec.Struct]] = LongInputs
    idempotency: ClassVar[Idempotency] = Idempotency.LOCAL

    async def execute(self, ctx: ActionContext, params: LongInputs) -> Mapping[str, Any]:
        beats = max(1, round(params.seconds / params.beat_every))
        for done in range(1, beats + 1):
            await asyncio.sleep(params.beat_every)
            await ctx.heartbeat({"done": done, "of": beats})
        return {"beats": beats}


class CallbackInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    order: str = "o-1"


class Callback(Action):
    """Hands its resume token to "the external system" and suspends until it signals."""

    name: ClassVar[str] = "contract_callback"
    description: ClassVar[str] = "waits for an external signal (tests only)"
    inputs: ClassVar[type[msgspec.Struct]] = CallbackInputs
    idempotency: ClassVar[Idempotency] = Idempotency.REMOTE_KEY

    async def execute(self, ctx: ActionContext, params: CallbackInputs) -> Mapping[str, Any]:
        assert ctx.resume_token is not None
        folder = Path(os.environ["GOVFLOW_TEST_CONTRACT_DIR"])
        (folder / f"{ctx.step_id}.token").write_text(ctx.resume_token)
        raise Suspend("payment_callback", {"order": params.order})


class Echo(Action):
    """Returns its inputs: the action a worker without this plugin lacks."""

    name: ClassVar[str] = "contract_echo"
    description: ClassVar[str] = "returns its inputs (tests only)"
    inputs: ClassVar[type[msgspec.Struct]] = CallbackInputs
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    async def execute(self, ctx: ActionContext, params: CallbackInputs) -> Mapping[str, Any]:
        return {"order": params.order}


ACTIONS: tuple[type[Action], ...] = (RateLimited, Long, Callback, Echo)


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    for action in ACTIONS:
        register.add(action())
