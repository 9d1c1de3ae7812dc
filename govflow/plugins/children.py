"""What a host offers the ``workflow`` action: starting a child execution of a step.

The host's :class:`ChildExecutions` (``PluginHost.executions``; ``None`` where there is no
database, as in the test kit) starts the child once per parent step: a second call for the same
step (a retried or recovered attempt) gives the child the first call started.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from uuid import UUID

import msgspec


class ChildStart(msgspec.Struct, frozen=True, kw_only=True):
    """The child to start for the parent's step.

    :ivar version: the workflow version to pin (``None``: its current active version, resolved
        now and recorded with the child).
    """

    parent_execution_id: UUID
    parent_step_id: UUID
    idempotency_key: str
    workflow: str
    version: int | None = None
    inputs: Mapping[str, Any] = msgspec.field(default_factory=dict)


class ChildStarted(msgspec.Struct, frozen=True, kw_only=True):
    """The child execution (created now, or by an earlier attempt of the same step)."""

    execution_id: UUID
    workflow: str
    version: int
    created: bool


class ChildExecutions(Protocol):
    async def start(self, request: ChildStart) -> ChildStarted:
        """Start the child of ``request.parent_step_id`` once.

        :raises BusinessError: no such workflow or version, the inputs do not match the child
            workflow's, or the parent may not start it (department, nesting depth): the
            message names the problem and ``details["code"]`` gives a stable code.
        """
        ...
