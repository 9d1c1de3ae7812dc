"""Plugins that fail to load in different ways, registered with ``GOVFLOW_PLUGINS_MODULES``
(tests only): each must be set aside by name while the others work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from govflow.plugins import Action, ActionContext, ActionRegistry, Idempotency, hookimpl


class Opaque:
    """A type msgspec cannot describe in a JSON Schema."""


class OpaqueInputs(msgspec.Struct, frozen=True):
    thing: Opaque


class OpaqueAction(Action):
    name: ClassVar[str] = "opaque"
    description: ClassVar[str] = "inputs without a JSON Schema (tests only)"
    inputs: ClassVar[type[msgspec.Struct]] = OpaqueInputs
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    async def execute(self, ctx: ActionContext, params: Any) -> Mapping[str, Any]:
        return {}


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    register.add(OpaqueAction())
