"""The CRUD adapters' Piccolo wiring: each query runs on its own database's pool and role, in the
transaction that holds its audit rows; hand-written statements name the columns they must."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from govflow.adapters.db import audit, audit_seals
from govflow.adapters.db.departments import PgDepartmentStore
from govflow.adapters.db.engine import Database
from govflow.adapters.db.tables import Department
from govflow.core.audit_chain import SEALED_COLUMNS
from govflow.usecases.audit import AuditEntry
from govflow.usecases.departments import NewDepartment

WHO_AM_I = "SELECT current_user AS role, current_setting('application_name') AS name"


@pytest.fixture
async def databases(database_url: str) -> AsyncIterator[tuple[Database, Database]]:
    first = Database(database_url, min_size=1, max_size=1, application_name="first")
    second = Database(database_url, min_size=1, max_size=1, application_name="second")
    await first.start()
    await second.start()
    yield first, second
    await second.close()
    await first.close()


async def test_a_query_runs_on_the_database_that_runs_it(
    databases: tuple[Database, Database],
) -> None:
    first, second = databases
    (on_first,) = await first.run(Department.raw(WHO_AM_I))
    (on_second,) = await second.run(Department.raw(WHO_AM_I))
    assert on_first == {"role": "govflow_app", "name": "first"}
    assert on_second == {"role": "govflow_app", "name": "second"}
    await second.close()
    (still_first,) = await first.run(Department.raw(WHO_AM_I))
    assert still_first["name"] == "first"


async def test_a_query_that_names_no_database_is_refused() -> None:
    with pytest.raises(RuntimeError, match=r"Database\.run"):
        await Department.select()


async def test_a_department_and_its_audit_row_are_written_together_or_not_at_all(
    databases: tuple[Database, Database], database_url: str
) -> None:
    store = PgDepartmentStore(databases[0])
    too_long = AuditEntry(action="DEPARTMENT_CREATED", entity_id="x" * 65)  # varchar(64)
    with pytest.raises(asyncpg.StringDataRightTruncationError):
        await store.create(uuid.uuid4(), NewDepartment(code="atomic", name="Atomic"), [too_long])
    created = await store.create(
        uuid.uuid4(),
        NewDepartment(code="atomic", name="Atomic"),
        [AuditEntry(action="DEPARTMENT_CREATED", entity_id="atomic")],
    )
    conn = await asyncpg.connect(database_url)
    try:
        departments = await conn.fetchval("SELECT count(*) FROM departments WHERE code = 'atomic'")
        audited = await conn.fetchval("SELECT count(*) FROM audit_logs WHERE entity_id = 'atomic'")
        long_audited = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE length(entity_id) > 64"
        )
    finally:
        await conn.close()
    assert (departments, audited, long_audited) == (1, 1, 0)
    assert created.code == "atomic"
    assert await store.id_of("atomic") == created.id


def _selected(sql: str) -> list[str]:
    """The names a ``SELECT a, b::text, ... FROM`` statement selects, casts dropped."""
    listed = re.search(r"SELECT(.*?)FROM", sql, re.S)
    assert listed is not None
    return [column.strip().split("::")[0] for column in listed.group(1).split(",")]


def test_sealing_reads_the_sealed_columns_in_their_order() -> None:
    assert _selected(audit_seals._ROWS) == list(SEALED_COLUMNS)


def test_appending_audit_rows_fills_the_mapped_columns_in_order() -> None:
    inserted = re.search(r"INSERT INTO audit_logs \((.*?)\)", audit._INSERT, re.S)
    assert inserted is not None
    assert [c.strip() for c in inserted.group(1).split(",")] == list(audit.AUDIT_COLUMNS)
    entry = AuditEntry(action="X", entity_type="t", entity_id="i", reason="r", metadata={"k": 1})
    row = dict(zip(audit.AUDIT_COLUMNS, audit.audit_row(entry), strict=True))
    assert row == {
        "action": "X",
        "actor_id": None,
        "actor_email": None,
        "entity_type": "t",
        "entity_id": "i",
        "department_id": None,
        "request_id": None,
        "reason": "r",
        "metadata": '{"k":1}',
    }
