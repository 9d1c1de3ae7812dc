"""Which answers are access denials, and the recorder the access log hands them to.

Counted (see :mod:`govflow.usecases.denials`):

- every 403;
- a 404 from a route answered to an authenticated, department-scoped caller (MANAGER,
  OPERATOR): another department's object is answered 404 on purpose, so the API cannot tell
  "missing" from "not yours" and counts both; an ADMIN's 404 is only a missing object;
- a 401 for a bearer token that was presented and refused (under the token's user when its
  signature held, e.g. a disabled user or a revoked session; otherwise under no user).

A request that presents no credentials is never counted: anonymous traffic cannot add audit
rows. Counting is one Redis round trip after the answer was sent; when Redis fails, the denial
is logged and the request is not affected. :class:`DenialFlusher` writes closed windows to the
audit log from every API worker (the take is atomic, so nothing is written twice).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog
from litestar.types import Scope

from govflow.usecases.denials import Denial, DenialAudit
from govflow.usecases.principal import Principal, Role

DENIALS_STATE_KEY = "govflow_denials"
"""App-state key of the :class:`DenialRecorder`."""
REFUSED_TOKEN_KEY = "govflow_refused_token"  # noqa: S105 - a scope-state key, not a secret
"""Scope-state key the bearer middleware sets when it refuses a presented token: the token's
user id when its signature held, otherwise ``None``."""

log = structlog.get_logger("govflow.http")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def denial_of(scope: Scope, status: int) -> Denial | None:
    """The denial an answer with ``status`` is, or ``None`` when it is not one to count."""
    if status not in (401, 403, 404):
        return None
    handler = scope.get("route_handler")
    if handler is None:
        return None
    principal = scope.get("user")
    user = principal if isinstance(principal, Principal) else None
    state: dict[str, Any] = scope.get("state", {})  # type: ignore[assignment]
    if status == 401:
        if REFUSED_TOKEN_KEY not in state:
            return None
        token_user: UUID | None = state[REFUSED_TOKEN_KEY]
        return _denial(scope, handler, status, user_id=token_user)
    if status == 404 and (user is None or user.role is Role.ADMIN):
        return None
    if user is None:
        return _denial(scope, handler, status)
    return _denial(
        scope,
        handler,
        status,
        user_id=user.user_id,
        department_id=user.department_id,
        email=user.email,
    )


def _denial(
    scope: Scope,
    handler: Any,
    status: int,
    *,
    user_id: UUID | None = None,
    department_id: UUID | None = None,
    email: str | None = None,
) -> Denial:
    operation_id = getattr(handler, "operation_id", None)
    operation = operation_id if isinstance(operation_id, str) else ""
    return Denial(
        status=status,
        operation=operation or getattr(handler, "handler_name", "") or "unknown",
        method=str(scope.get("method", "")),
        path=str(scope.get("path_template") or scope.get("path", "")),
        user_id=user_id,
        department_id=department_id,
        email=email,
    )


class DenialRecorder:
    """Counts denials once the audit use case is available (set by the app's lifespan)."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self.audit: DenialAudit | None = None
        self._clock = clock

    async def observe(self, scope: Scope, status: int) -> None:
        """Count the answer if it is a denial; never raises."""
        denial = denial_of(scope, status)
        if denial is None or self.audit is None:
            return
        try:
            await self.audit.record(denial, self._clock())
        except Exception as exc:  # counting must never fail the request
            log.warning(
                "denial_not_counted",
                status=denial.status,
                operation=denial.operation,
                user_id=str(denial.user_id) if denial.user_id else None,
                error=type(exc).__name__,
            )

    async def flush(self, *, include_current: bool = False) -> int:
        """Write the closed windows (all of them with ``include_current``) to the audit log."""
        if self.audit is None:
            return 0
        return await self.audit.flush(self._clock(), include_current=include_current)

    @contextlib.asynccontextmanager
    async def flushing(self, audit: DenialAudit) -> AsyncIterator[None]:
        """Use ``audit`` and flush closed windows periodically while the app runs; at shutdown,
        flush everything counted so far."""
        self.audit = audit
        task = asyncio.create_task(self._flush_periodically(audit.window_seconds))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            try:
                await self.flush(include_current=True)
            except Exception as exc:  # shutdown goes on; the counts stay in Redis
                log.warning("denials_not_flushed", error=type(exc).__name__)
            self.audit = None

    async def _flush_periodically(self, window_seconds: int) -> None:
        interval = max(1.0, min(float(window_seconds), 30.0))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush()
            except Exception as exc:  # the next round retries
                log.warning("denials_not_flushed", error=type(exc).__name__)
