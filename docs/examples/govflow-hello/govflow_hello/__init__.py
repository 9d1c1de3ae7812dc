"""An example GovFlow plugin: ``hello_greet`` greets someone by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

import msgspec

from govflow.plugins import Action, ActionContext, ActionRegistry, Idempotency, hookimpl


class HelloInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The ``with:`` block of a ``hello_greet`` step."""

    name: Annotated[str, msgspec.Meta(min_length=1)]


class HelloGreet(Action):
    """Greet someone by name."""

    name: ClassVar[str] = "hello_greet"
    description: ClassVar[str] = "Greet someone by name."
    inputs: ClassVar[type[msgspec.Struct]] = HelloInputs
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    async def execute(self, ctx: ActionContext, params: HelloInputs) -> Mapping[str, Any]:
        """Return the greeting."""
        return {"greeting": f"Hello, {params.name}"}


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    """Register ``hello_greet``."""
    register.add(HelloGreet())
