"""An example GovFlow plugin: ``hello_greet`` greets someone by name, ``hello_post`` posts the
greeting to a remote greetings board.

It shows plugin contract v1: typed settings (:class:`HelloSettings`, a secret token among them),
a client built once per process in ``govflow_startup`` from those settings and received by the
actions as ``ctx.resources``, requests through the host's ``ctx.http``, ``retry_after`` from the
board's ``Retry-After``, and ``ctx.heartbeat`` while waiting on the board.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

import msgspec

from govflow.plugins import (
    Action,
    ActionContext,
    ActionRegistry,
    BusinessError,
    Idempotency,
    hookimpl,
)
from govflow_hello.board import Board
from govflow_hello.settings import HelloSettings

__all__ = ["Board", "HelloGreet", "HelloPost", "HelloSettings"]

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class HelloInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The ``with:`` block of a ``hello_greet`` or ``hello_post`` step."""

    name: Name


def greeting(ctx: ActionContext, name: str) -> str:
    """``<GREETING>, <name>`` (``Hello`` when the context carries no settings of ours)."""
    settings = ctx.settings if isinstance(ctx.settings, HelloSettings) else HelloSettings()
    return f"{settings.greeting}, {name}"


class HelloGreet(Action):
    """Greet someone by name."""

    name: ClassVar[str] = "hello_greet"
    description: ClassVar[str] = "Greet someone by name."
    inputs: ClassVar[type[msgspec.Struct]] = HelloInputs
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    async def execute(self, ctx: ActionContext, params: HelloInputs) -> Mapping[str, Any]:
        """Return the greeting."""
        return {"greeting": greeting(ctx, params.name)}


class HelloPost(Action):
    """Post a greeting to the greetings board."""

    name: ClassVar[str] = "hello_post"
    description: ClassVar[str] = "Post a greeting to the greetings board."
    inputs: ClassVar[type[msgspec.Struct]] = HelloInputs
    idempotency: ClassVar[Idempotency] = Idempotency.REMOTE_KEY

    async def execute(self, ctx: ActionContext, params: HelloInputs) -> Mapping[str, Any]:
        """Post the greeting with the step's idempotency key; the board deduplicates."""
        if ctx.resources is None:
            raise BusinessError("no greetings board is configured (GOVFLOW_HELLO_BOARD_URL)")
        board = ctx.resource(Board)
        text = greeting(ctx, params.name)
        await ctx.heartbeat({"posting": text})
        answer = await board.post(ctx.http, ctx.idempotency_key, {"greeting": text})
        return {"greeting": text, "posted": True, **answer}


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    """Register ``hello_greet`` and ``hello_post``."""
    register.add(HelloGreet())
    register.add(HelloPost())


@hookimpl
def govflow_settings() -> type[msgspec.Struct]:
    """Declare :class:`HelloSettings`."""
    return HelloSettings


@hookimpl
def govflow_startup(settings: HelloSettings) -> Board | None:
    """Build the board client once per process (``None``: no board configured)."""
    return Board.from_settings(settings)
