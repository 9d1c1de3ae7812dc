"""``Idempotency-Key`` on the API's creating requests: the first answer, once and for all.

A key belongs to its caller and its route (method and path template). Before the request runs
its key is claimed, with the request's fingerprint; a successful answer completes the claim and
is kept until the key expires, anything else releases it (a refused request created nothing,
so a corrected request may use the key again, as with Stripe). Then, for the same key:

- the same request again (same fingerprint) gets the kept answer, status and body;
- another request (another path, query or body) is refused: :class:`IdempotencyKeyReused`;
- while the first is still running, a duplicate is refused: :class:`IdempotencyKeyInFlight`.

A claim whose request has been running longer than ``in_flight_seconds`` is taken over (its
process died before it could complete or release it), and an expired key is a new key. Expired
keys are purged while keys are written, at most once per ``purge_every_seconds`` per process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from govflow.usecases.errors import ConflictError, UseCaseError

KEY_FIELD = "header.idempotency_key"
"""How errors name the ``Idempotency-Key`` header."""
MAX_KEY_LENGTH = 200
"""The longest key accepted (the column's width)."""
PURGE_BATCH = 1000


class KeyedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A request that carries an idempotency key."""

    caller: UUID
    key: str
    method: str
    route: str
    """The route's path template: the key's scope, with the caller and the method."""
    fingerprint: str
    """A digest of what the request asks (its path, query and body)."""


class Claim(msgspec.Struct, frozen=True):
    """The request holds the key: it runs, then completes or releases the claim."""

    id: int
    claimed_at: datetime


class Replay(msgspec.Struct, frozen=True):
    """The key answered before: this is the answer to send again."""

    status: int
    body: str


class Holder(msgspec.Struct, frozen=True, kw_only=True):
    """Who holds a key now: its fingerprint, and its answer once completed."""

    fingerprint: str
    status: int | None
    body: str | None


class IdempotencyKeyReused(UseCaseError):
    """This Idempotency-Key was used before for another request."""

    code = "IDEMPOTENCY_KEY_REUSED"

    def __init__(self) -> None:
        message = (
            "this Idempotency-Key was used before for another request (another body, path or "
            "query); use a new key for a new request"
        )
        super().__init__(message)
        self.problems = [(KEY_FIELD, message)]


class IdempotencyKeyInFlight(ConflictError):
    """A request with this Idempotency-Key is still being processed."""

    def __init__(self) -> None:
        message = (
            "a request with this Idempotency-Key is still being processed; retry once it has "
            "answered"
        )
        super().__init__(message)
        self.problems = [(KEY_FIELD, message)]


class KeyStore(Protocol):
    """Idempotency keys shared by every API process."""

    async def claim(
        self, request: KeyedRequest, ttl_seconds: int, in_flight_seconds: int
    ) -> Claim | None:
        """Take the key for ``request`` when it is free, expired or abandoned; else ``None``."""
        ...

    async def holder(self, request: KeyedRequest) -> Holder | None:
        """Who holds the key of ``request`` now (``None``: nobody, or it expired)."""
        ...

    async def complete(self, claim: Claim, status: int, body: str) -> None: ...

    async def release(self, claim: Claim) -> None: ...

    async def purge(self, batch: int) -> int:
        """Remove at most ``batch`` expired keys; how many were removed."""
        ...


class KeyPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The numbers of the scheme (settings)."""

    ttl_seconds: int
    in_flight_seconds: int = 60
    purge_every_seconds: float = 60.0


class IdempotencyKeys:
    """See the module docstring."""

    def __init__(
        self,
        store: KeyStore,
        policy: KeyPolicy,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock
        self._next_purge = clock()

    async def begin(self, request: KeyedRequest) -> Claim | Replay:
        """Claim the key, or the earlier answer to replay.

        :raises IdempotencyKeyReused: the key was used for another request.
        :raises IdempotencyKeyInFlight: the key's first request has not answered yet.
        """
        # A holder that releases between our claim and our look finds the key free: try again.
        for _ in range(3):
            claim = await self._store.claim(
                request, self._policy.ttl_seconds, self._policy.in_flight_seconds
            )
            if claim is not None:
                await self._purge_now_and_then()
                return claim
            holder = await self._store.holder(request)
            if holder is None:
                continue
            if holder.fingerprint != request.fingerprint:
                raise IdempotencyKeyReused()
            if holder.status is None or holder.body is None:
                raise IdempotencyKeyInFlight()
            return Replay(holder.status, holder.body)
        raise IdempotencyKeyInFlight()

    async def complete(self, claim: Claim, status: int, body: str) -> None:
        """Keep the answer of a successful request for its replays."""
        await self._store.complete(claim, status, body)

    async def release(self, claim: Claim) -> None:
        """Free the key of a request that did not succeed."""
        await self._store.release(claim)

    async def _purge_now_and_then(self) -> None:
        now = self._clock()
        if now < self._next_purge:
            return
        self._next_purge = now + self._policy.purge_every_seconds
        await self._store.purge(PURGE_BATCH)
