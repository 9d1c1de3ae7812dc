"""Request bodies of the execution endpoints; answers are in
:mod:`govflow.usecases.execution_views`."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar.params import HeaderParameter

from govflow.usecases.operate import Resolution

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=200,
        description=(
            "Yours alone: the same key with the same workflow and inputs gives the execution "
            "it started (200); the key reused for another workflow or other inputs is a 409."
        ),
    ),
]


class StartIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The workflow's inputs, checked against its ``inputs:`` declaration."""

    inputs: dict[str, Any] = msgspec.field(default_factory=dict)


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Why the operator acts; recorded in the audit entry."""

    reason: Reason


class ResolveIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How to resolve a step in NEEDS_ATTENTION; ``output`` only with ``mark_done``."""

    action: Resolution
    reason: Reason
    output: dict[str, Any] | None = None


ErrorCode = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Z][A-Z0-9_]*$")]
ResumeToken = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class SignalErrorIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What went wrong, as the external system reports it; the step fails with it."""

    message: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    code: ErrorCode | None = None
    details: dict[str, Any] | None = None


class SignalIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The step's resume token, and either its ``output`` or its ``error`` (neither: an empty
    output)."""

    token: ResumeToken
    output: dict[str, Any] | None = None
    error: SignalErrorIn | None = None
