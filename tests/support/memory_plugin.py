"""A test plugin whose actions fail the way no ordinary exception handler expects: an
allocation beyond the worker's memory ceiling (``MemoryError``) and a ``BaseException``
(``SystemExit``, ``KeyboardInterrupt``) raised by the action itself.

Loaded into worker processes with
``GOVFLOW_PLUGINS_MODULES=tests.support.effects_plugin,tests.support.memory_plugin``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import msgspec

from govflow.plugins import Action, ActionContext, ActionRegistry, Idempotency, hookimpl

MIB = 1024 * 1024


class AllocateInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    megabytes: int


class Allocate(Action):
    """Allocates ``megabytes`` MiB: beyond ``WORKER_MEMORY_LIMIT_MB`` the allocation raises
    ``MemoryError`` (the limit counts the mapping, whether or not its pages are used)."""

    name: ClassVar[str] = "allocate"
    description: ClassVar[str] = "allocates memory (tests only)"
    inputs: ClassVar[type[msgspec.Struct]] = AllocateInputs
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    async def execute(self, ctx: ActionContext, params: AllocateInputs) -> Mapping[str, Any]:
        block = bytearray(params.megabytes * MIB)  # zero pages: costs nothing until written
        return {"allocated": len(block)}


class EscapeInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    kind: Literal["SystemExit", "KeyboardInterrupt"]


class Escape(Action):
    """Raises a ``BaseException`` that is not an ``Exception``."""

    name: ClassVar[str] = "escape"
    description: ClassVar[str] = "raises SystemExit or KeyboardInterrupt (tests only)"
    inputs: ClassVar[type[msgspec.Struct]] = EscapeInputs
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    async def execute(self, ctx: ActionContext, params: EscapeInputs) -> Mapping[str, Any]:
        if params.kind == "SystemExit":
            raise SystemExit("the plugin called exit")
        raise KeyboardInterrupt


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    register.add(Allocate())
    register.add(Escape())
