"""Long actions: heartbeats with progress, and suspending a step on a signal.

An action that runs long calls ``ctx.heartbeat(progress)``: the step's lease is renewed at once
and ``progress`` (a text, a number or a JSON object) is recorded beside the step, so the API
shows how far it got. An action that waits for an external system raises ``Suspend(reason,
payload)`` after handing that system ``ctx.resume_token``: the worker stores the token's SHA-256
(never the token) with the step, which then waits until
``POST /workflow-executions/{id}/steps/{key}/signal`` brings the token back
(:mod:`govflow.usecases.signals`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol

from govflow.usecases.ports import ClaimedStep

RESUME_TOKEN_BYTES = 32
"""Randomness of a resume token (URL-safe base64 of these many bytes)."""


def new_resume_token() -> str:
    """A fresh, unguessable resume token."""
    return secrets.token_urlsafe(RESUME_TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored of a resume token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str | None) -> bool:
    """Whether ``token`` is the one whose hash was stored (compared in constant time)."""
    if not stored_hash:
        return False
    return hmac.compare_digest(token_hash(token), stored_hash)


def progress_value(progress: object) -> Any:
    """``progress`` as it is stored: a text, a number, or a JSON object (mappings copied).

    Raises ``TypeError`` for anything else, so a plugin learns at once."""
    if progress is None or isinstance(progress, str | int | float):
        return progress
    if isinstance(progress, Mapping):
        return dict(progress)
    raise TypeError(
        f"progress must be a text, a number or a mapping, not {type(progress).__name__}"
    )


class LongActions(Protocol):
    """The writes of long actions, each guarded by the claim's fencing token."""

    async def heartbeat(self, claim: ClaimedStep, lease: timedelta, progress: Any) -> bool:
        """Renew the lease and record ``progress``; False: the token is no longer current."""
        ...

    async def open_wait(self, claim: ClaimedStep, resume_token_hash: str) -> bool:
        """Store the hash of the resume token of a step about to wait on a signal."""
        ...
