"""What the CRUD adapters share: Piccolo statements on the tables, paged with their total.

The users, departments, tokens, audit-log and workflow adapters build every statement with
Piccolo's query builder on :mod:`govflow.adapters.db.tables` (values always travel as
parameters) and run it with :meth:`Database.run <govflow.adapters.db.engine.Database.run>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec
from piccolo.query.methods.count import Count
from piccolo.query.methods.select import Select
from piccolo.querystring import QueryString

from govflow.adapters.db.engine import Database
from govflow.usecases.paging import PageRequest

S = TypeVar("S", bound=msgspec.Struct)


def now() -> QueryString:
    """The transaction's time (``now()``) as a value to insert or set: the database's clock,
    the one the hand-written statements use."""
    return QueryString("now()")


def total() -> QueryString:
    """Every matching row's count, on each row of a page (``count(*) OVER ()``)."""
    return QueryString("count(*) OVER ()", alias="total")


async def paged(
    db: Database, query: Select[Any], count: Count, page: PageRequest
) -> tuple[list[dict[str, Any]], int]:
    """One page of ``query`` (already ordered) and the number of rows it matches in all.

    :param count: the same filter as a count, run only when the page is empty beyond the first.
    """
    rows: list[dict[str, Any]] = await db.run(
        query.columns(total()).limit(page.limit).offset(page.offset)
    )
    if rows:
        return rows, int(rows[0]["total"])
    if page.offset == 0:
        return [], 0
    return [], int(await db.run(count))


def views(rows: Sequence[dict[str, Any]], kind: type[S]) -> list[S]:
    """Rows as the use case's Structs (columns the Struct does not name are left out)."""
    return [msgspec.convert(row, kind) for row in rows]
