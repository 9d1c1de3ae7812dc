"""Errors that mean the database is not ready for this GovFlow, as one line an operator acts on.

A command run against a database that was never migrated, or migrated by an older GovFlow, meets
a missing table, column or function; a pool that cannot act as the application's role reports it
with the database's error as its cause. Both become one line instead of a traceback.
"""

from __future__ import annotations

import asyncpg

_SCHEMA_MISSING = (
    asyncpg.UndefinedTableError,
    asyncpg.UndefinedColumnError,
    asyncpg.UndefinedFunctionError,
    asyncpg.UndefinedObjectError,
)


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def database_problem(exc: BaseException) -> str | None:
    """One line saying what to do about ``exc``, or ``None`` when it is not about the database
    being unprepared."""
    chain = _chain(exc)
    for error in chain:
        if isinstance(error, _SCHEMA_MISSING):
            return f"the database is not migrated ({error}): run `govflow migrate`"
    if isinstance(exc, RuntimeError) and any(isinstance(e, asyncpg.PostgresError) for e in chain):
        return str(exc)
    return None
