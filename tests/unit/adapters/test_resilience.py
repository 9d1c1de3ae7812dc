"""Which database errors a step statement is tried again for (the retry itself runs against a
real PostgreSQL in tests/integration/engine/test_lost_connections.py)."""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg import exceptions as pg

from govflow.adapters.db.resilience import connection_lost, retryable


@pytest.mark.parametrize(
    "error",
    [
        pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        pg.AdminShutdownError("terminating connection due to administrator command"),
        pg.CrashShutdownError("the database system is in recovery mode"),
        pg.CannotConnectNowError("the database system is starting up"),
        pg.InternalClientError("cannot switch to state 12; another operation is in progress"),
        ConnectionResetError(104, "Connection reset by peer"),
        ConnectionRefusedError(111, "Connection refused"),
        BrokenPipeError(32, "Broken pipe"),
    ],
    ids=type,
)
def test_a_lost_connection_is_tried_again(error: BaseException) -> None:
    assert connection_lost(error)
    assert retryable(error)


@pytest.mark.parametrize(
    "error",
    [
        pg.SerializationError("could not serialize access"),
        pg.DeadlockDetectedError("deadlock detected"),
        pg.TooManyConnectionsError("sorry, too many clients already"),
    ],
    ids=type,
)
def test_a_statement_the_server_rolled_back_is_tried_again_on_a_live_connection(
    error: BaseException,
) -> None:
    assert retryable(error)
    assert not connection_lost(error)


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError(),  # a statement over its timeout; TimeoutError is an OSError
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        pg.UniqueViolationError("duplicate key value violates unique constraint"),
        pg.UndefinedTableError('relation "executions" does not exist'),
        ValueError("a bug"),
    ],
    ids=type,
)
def test_other_errors_are_not_tried_again(error: BaseException) -> None:
    assert not retryable(error)
    assert not connection_lost(error)
