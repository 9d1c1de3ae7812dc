"""Riding out a dropped database connection: which errors mean "run it again", and the retry.

A statement whose connection is lost (the server terminated the session, restarted or failed
over, the network cut it, or the pool handed out a connection the server had just closed) is
run again on a fresh connection: a bounded number of times, with jittered exponential backoff.
So is one the server rolled back for a serialization failure or a deadlock. After a lost
connection the pool's connections are all replaced as they are next used: whatever ended one
session (a restart, a failover, terminated sessions) may have ended the others.

Running a statement again is only right when a second run of a statement that did commit
changes nothing: GovFlow's step statements are guarded so (a finish applies only to a ``RUNNING``
step with the caller's fencing token, which its first run no longer finds). Whether the first
run committed is then unknown; a caller that must know re-reads it
(:mod:`govflow.adapters.db.step_outcomes`).

The first try runs without any retry machinery: the hot path pays for a ``try`` only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
from asyncpg import exceptions as pg
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

log = logging.getLogger("govflow.db")

T = TypeVar("T")

_LOST: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError, refused or failed connects
    pg.AdminShutdownError,  # pg_terminate_backend, a server shutting down
    pg.CrashShutdownError,
    pg.CannotConnectNowError,  # the server is starting up or shutting down
    pg.InternalClientError,  # the protocol met a closed connection ("cannot switch to state")
    OSError,  # the socket: reset, broken pipe, refused
)
"""The connection is gone; whatever the statement did was rolled back, or committed unseen."""

_ROLLED_BACK: tuple[type[BaseException], ...] = (
    pg.SerializationError,
    pg.DeadlockDetectedError,
    pg.TooManyConnectionsError,
)
"""The server refused or rolled back the statement; the connection itself is fine."""


def connection_lost(exc: BaseException, conn: asyncpg.Connection | None = None) -> bool:
    """Whether ``exc`` means the connection (``conn``, if one was acquired) is lost.

    A statement that ran past its timeout is not a lost connection. asyncpg's ``InterfaceError``
    covers a closed connection and misuse alike: it counts only when the connection is closed.
    """
    if isinstance(exc, TimeoutError):
        return False
    if isinstance(exc, asyncpg.InterfaceError):
        return conn is not None and conn.is_closed()
    return isinstance(exc, _LOST)


def retryable(exc: BaseException, conn: asyncpg.Connection | None = None) -> bool:
    """Whether running the statement again on a fresh connection may succeed."""
    return connection_lost(exc, conn) or isinstance(exc, _ROLLED_BACK)


class _Retry(Exception):
    """Internal: the try failed in a way worth another try (the driver's error is the cause)."""


class DatabaseUnavailableError(Exception):
    """A statement failed on every try: the database stayed unreachable for the whole budget."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long a statement is tried.

    The defaults ride out sessions killed again and again, or a quick restart, for up to ten
    seconds: inside the default lease (``LEASE_SECONDS``, 30), so a worker retrying its finish
    is not overtaken by the recovery of its own step. The time is the bound that counts: enough
    tries to fill it, so that a slow machine, whose every try takes longer to meet the next
    terminated session, gets the same ten seconds as a fast one."""

    attempts: int = 64
    first_wait: float = 0.02
    max_wait: float = 0.5
    max_elapsed: float = 10.0


DEFAULT_POLICY = RetryPolicy()


class Resilient:
    """Runs statements on a pool's connections, trying again those met by a lost connection."""

    def __init__(self, pool: asyncpg.Pool, policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._pool = pool
        self._policy = policy

    async def run(
        self, use: Callable[[asyncpg.Connection], Awaitable[T]], what: Callable[[], str]
    ) -> T:
        """``await use(conn)`` on a pooled connection; on a retryable error, again on a fresh
        one until the policy's budget is spent, then :class:`DatabaseUnavailableError`.

        :param what: names the statement and its subject (e.g. the step's ids) for the log;
            called only when a connection was lost.
        """
        try:
            return await self._once(use)
        except _Retry as failure:
            first = failure.__cause__
        described = what()
        log.warning("%s failed (%r); trying again on a fresh connection", described, first)
        policy = self._policy
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_Retry),
            wait=wait_random_exponential(multiplier=policy.first_wait, max=policy.max_wait),
            stop=stop_after_attempt(policy.attempts - 1) | stop_after_delay(policy.max_elapsed),
            before_sleep=_log_retry(described),
            reraise=True,
        )
        tries = 1
        try:
            async for attempt in retrying:
                tries += 1
                with attempt:
                    result = await self._once(use)
                    log.info("%s succeeded on try %d", described, tries)
                    return result
        except _Retry as failure:
            log.error(
                "gave up on %s: it failed on each of %d tries, the last time with %r",
                described,
                tries,
                failure.__cause__,
            )
            raise DatabaseUnavailableError(
                f"{described}: failed on each of {tries} tries (the database is unreachable)"
            ) from failure.__cause__
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def _once(self, use: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        retry: _Retry | None = None
        done = False
        try:
            async with self._pool.acquire() as conn:
                try:
                    result = await use(conn)
                except Exception as exc:
                    if not retryable(exc, conn):
                        raise
                    if connection_lost(exc, conn):
                        # Whatever ended this session (a restart, a failover, terminated
                        # sessions) may have ended the pool's others: each is replaced by a
                        # fresh connection when next handed out, this one when handed back.
                        await self._pool.expire_connections()
                    retry = _Retry()
                    retry.__cause__ = exc
                else:
                    done = True
        except Exception as exc:
            if not (done or retry):
                if retryable(exc):  # acquiring (connecting) failed
                    raise _Retry from exc
                raise
            # Only handing the connection back failed; the statement's outcome stands.
            log.warning("releasing a database connection failed: %r", exc)
        if retry is not None:
            raise retry
        return result


def _log_retry(what: str) -> Callable[[RetryCallState], None]:
    """The first loss is a warning and giving up an error; the tries between are debug lines,
    so an outage does not flood the log."""

    def before_sleep(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        log.debug(
            "%s failed again (try %d, %r); next try in %.2fs",
            what,
            state.attempt_number + 1,
            failure.__cause__ if failure else None,
            state.upcoming_sleep,
        )

    return before_sleep
