"""The status, role, outcome and audit-event words of GovFlow's SQL come from the enums.

Every SQL text of the package and the migrations is parsed (``tests/support/sql_literals.py``):
a quoted word must be a member of the enum of the column it meets, and an upper-case word
outside a column a member of some vocabulary. Every column that holds an enum's values has a
CHECK constraint allowing exactly those values, its table's or (on the hot tables, migration
0022) its domain's, read back from a migrated database. So adding a
status is a change to ``govflow/core`` plus checked SQL: the last tests show both halves fail
until both are done.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from pathlib import Path

import asyncpg
import pytest

from govflow.adapters.db.migrations import discover, migrate
from govflow.core.audit_events import AuditEvent
from govflow.core.idempotency import Idempotency
from govflow.core.roles import Role
from govflow.core.statuses import AttemptOutcome, ExecutionStatus, HumanTaskStatus, StepStatus
from govflow.core.tasks.model import OnReject
from tests.conftest import with_database
from tests.support.sql_literals import (
    CHECKS_QUERY,
    Check,
    SqlText,
    check_text,
    check_texts,
    compare_checks,
    literal_columns,
    python_sql,
    sql_files,
    vocabulary_columns,
)


async def checks_of(url: str) -> list[tuple[str, str | None, str]]:
    conn = await asyncpg.connect(url)
    try:
        return [
            (r["table_name"], r["column_name"], r["expr"]) for r in await conn.fetch(CHECKS_QUERY)
        ]
    finally:
        await conn.close()


def extended(enum: type[StrEnum], value: str) -> type[StrEnum]:
    """``enum`` with one more member, as a change to ``govflow/core`` would make it."""
    members = {member.name: member.value for member in enum}
    return StrEnum(enum.__name__, {**members, value: value})  # type: ignore[return-value]


# The texts --------------------------------------------------------------------------------------


def test_the_sql_texts_are_found() -> None:
    files = {text.where for text in sql_files()}
    assert {f"migrations/{m.name}" for m in discover()} <= files
    modules = {text.where.split(":")[0] for text in python_sql()}
    assert {
        "govflow/adapters/db/execution_list.py",
        "govflow/adapters/db/executions.py",
        "govflow/adapters/db/audit.py",
    } <= modules
    # f-strings are read with the module-level names they splice in
    listing = [t.text for t in python_sql() if "count(*) OVER ()" in t.text]
    assert listing
    assert "e.department_id = $1" in listing[0]


def test_named_queries_of_an_adapters_sql_file_are_read_one_by_one(tmp_path: Path) -> None:
    sql = tmp_path / "govflow" / "adapters" / "db" / "sql" / "sample.sql"
    sql.parent.mkdir(parents=True)
    sql.write_text(
        "-- What these queries are for.\n"
        "\n"
        "-- name: pause\n"
        "-- Pause one execution.\n"
        "UPDATE executions SET status = 'PAUSED', inputs = '{}'::jsonb WHERE id = :execution_id;\n"
        "\n"
        "-- name: running\n"
        "SELECT id FROM execution_steps WHERE status = 'RUNNING' AND id = :step_id\n"
    )
    (tmp_path / "migrations").mkdir()
    texts = sql_files(tmp_path)
    assert [(t.where, t.first_line) for t in texts] == [
        ("govflow/adapters/db/sql/sample.sql", 3),
        ("govflow/adapters/db/sql/sample.sql", 7),
    ]
    assert [str(p) for p in check_texts(texts)] == [
        "govflow/adapters/db/sql/sample.sql:5: 'PAUSED' (executions.status) is no member of "
        "ExecutionStatus"
    ]


def test_the_vocabulary_columns_are_the_declared_ones() -> None:
    assert vocabulary_columns() == {
        ("users", "role"): Role,
        ("executions", "status"): ExecutionStatus,
        ("execution_steps", "status"): StepStatus,
        ("execution_steps", "idempotency"): Idempotency,
        ("execution_step_attempts", "outcome"): AttemptOutcome,
        ("human_tasks", "status"): HumanTaskStatus,
        ("human_tasks", "assignee_role"): Role,
        ("human_tasks", "reviewer_role"): Role,
        ("human_tasks", "on_reject"): OnReject,
    }
    assert literal_columns()[("audit_logs", "action")] is AuditEvent


def test_every_word_in_govflows_sql_is_a_member_of_its_enum() -> None:
    problems = check_texts([*sql_files(), *python_sql()])
    assert not problems, "\n".join(map(str, problems))


async def test_every_vocabulary_column_has_a_check_allowing_exactly_its_enum(
    database_url: str,
) -> None:
    problems = compare_checks(await checks_of(database_url), vocabulary_columns())
    assert not problems, "\n".join(problems)


# What the checks catch --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "UPDATE human_tasks SET status = 'RUNNING' WHERE id = $1",
            "'RUNNING' (human_tasks.status) is no member of HumanTaskStatus",
        ),
        (
            "SELECT e.id FROM executions e JOIN execution_steps s ON s.execution_id = e.id "
            "WHERE e.status = 'SKIPPED'",
            "'SKIPPED' (executions.status) is no member of ExecutionStatus",
        ),
        (
            "SELECT id FROM execution_steps WHERE status IN ('PENDING', 'PAUSED')",
            "'PAUSED' (execution_steps.status) is no member of StepStatus",
        ),
        (
            "SELECT id FROM execution_steps WHERE status = ANY (ARRAY['DONE'::varchar])",
            "'DONE' (execution_steps.status) is no member of StepStatus",
        ),
        (
            "INSERT INTO audit_logs (action, entity_type) VALUES ('WORKFLOW_PAUSED', 'execution')",
            "'WORKFLOW_PAUSED' (audit_logs.action) is no member of AuditEvent",
        ),
        (
            "INSERT INTO audit_logs (action, entity_type) SELECT 'LOGIN_OK', 'user' FROM users",
            "'LOGIN_OK' (audit_logs.action) is no member of AuditEvent",
        ),
        (
            "UPDATE execution_step_attempts SET outcome = CASE WHEN $2 THEN 'RETRIED' END",
            "'RETRIED' (execution_step_attempts.outcome) is no member of AttemptOutcome",
        ),
        (
            "UPDATE execution_steps SET finished_at = CASE WHEN $2::varchar IN ('DONE') "
            "THEN now() END",
            "'DONE' looks like a vocabulary word but is no member",
        ),
        (
            "CREATE TABLE t (status varchar(20) NOT NULL DEFAULT 'NEW')",
            "'NEW' looks like a vocabulary word but is no member",
        ),
        (
            "ALTER TABLE users ALTER COLUMN role SET DEFAULT 'CLERK'",
            "'CLERK' (users.role) is no member of Role",
        ),
        (
            "CREATE INDEX i ON execution_steps (id) WHERE status = 'LEASED'",
            "'LEASED' (execution_steps.status) is no member of StepStatus",
        ),
        (
            "UPDATE execution_steps SET idempotency = 'twice' WHERE id = $1",
            "'twice' (execution_steps.idempotency) is no member of Idempotency",
        ),
        (
            "DO $$ BEGIN UPDATE executions SET status = 'HALTED'; END $$",
            "'HALTED' looks like a vocabulary word but is no member",
        ),
    ],
)
def test_a_word_outside_its_enum_is_reported(sql: str, message: str) -> None:
    problems = check_text(SqlText("example.sql", sql, complete=True))
    assert [p.message for p in problems] == [message]
    assert problems[0].where == "example.sql:1"


def test_members_and_words_of_no_vocabulary_pass() -> None:
    sql = (
        "UPDATE execution_steps s SET status = 'SKIPPED', wait_reason = 'human_task' "
        "FROM executions e WHERE e.id = s.execution_id AND e.status IN ('PENDING', 'RUNNING') "
        "AND pg_has_role(current_user, 'govflow_app', 'MEMBER')"
    )
    assert check_text(SqlText("example.sql", sql, complete=True)) == []


def test_a_fragment_is_scanned_and_unreadable_sql_reported() -> None:
    fragment = SqlText("m.py:3", " WHERE s.status = 'PAUSED' AND e.status = 'RUNNING'", False)
    assert [str(p) for p in check_text(fragment)] == [
        "m.py:3: 'PAUSED' looks like a vocabulary word but is no member"
    ]
    broken = SqlText("m.sql", "UPDATE executions SET status = 'RUNNING' WHERE", complete=True)
    assert check_text(broken)[0].message.startswith("not SQL PostgreSQL can parse")


def test_check_differences_are_reported() -> None:
    vocabularies = {("executions", "status"): ExecutionStatus, ("users", "role"): Role}
    values = ", ".join(f"'{s}'" for s in ExecutionStatus if s is not ExecutionStatus.WAITING)
    checks = [
        ("executions", f"((status)::text = ANY (ARRAY[{values}, 'PAUSED']::text[]))"),
        ("human_tasks", "((status)::text = 'OPEN'::text)"),
        ("audit_seals", "((first_id <= last_id) AND (row_count > 0))"),
    ]
    assert compare_checks(checks, vocabularies) == [
        "ExecutionStatus 'WAITING' is not allowed by the CHECK on executions.status",
        "the CHECK on executions.status allows 'PAUSED', no member of ExecutionStatus",
        "users.role holds Role values but has 0 CHECK constraints listing values "
        "(one is needed: add it in a migration)",
        "human_tasks.status has a CHECK listing values, but tables.py names no enum as its choices",
    ]


def test_a_domains_check_counts_for_each_column_of_the_domain() -> None:
    vocabularies = {
        ("executions", "status"): ExecutionStatus,
        ("execution_steps", "status"): StepStatus,
    }
    allowed = ", ".join(f"'{s}'::character varying" for s in ExecutionStatus)
    domain = f"((VALUE)::text = ANY ((ARRAY[{allowed}])::text[]))"
    checks: list[Check] = [
        ("executions", "status", domain),
        ("execution_steps", "status", domain),
        ("execution_steps", None, "((status)::text = 'PENDING'::text)"),
    ]
    assert compare_checks(checks, vocabularies) == [
        "execution_steps.status holds StepStatus values but has 2 CHECK constraints listing "
        "values (one is needed: add it in a migration)",
    ]
    assert compare_checks(checks[:2], vocabularies) == [
        "StepStatus 'SKIPPED' is not allowed by the CHECK on execution_steps.status"
    ]


async def test_the_hot_vocabulary_columns_are_domains(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        types = await conn.fetch(
            "SELECT table_name, column_name, domain_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND domain_name IS NOT NULL ORDER BY 1, 2"
        )
        table_checks = await conn.fetchval(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'c' AND conrelid IN "
            "('executions'::regclass, 'execution_steps'::regclass, "
            "'execution_step_attempts'::regclass)"
        )
    finally:
        await conn.close()
    assert [tuple(row) for row in types] == [
        ("execution_step_attempts", "outcome", "attempt_outcome"),
        ("execution_steps", "idempotency", "idempotency_strategy"),
        ("execution_steps", "needs_left", "needs_count"),
        ("execution_steps", "status", "step_status"),
        ("executions", "depth", "nesting_depth"),
        ("executions", "runnable_steps", "needs_count"),
        ("executions", "status", "execution_status"),
    ]
    assert table_checks == 0  # no CHECK of the hot tables is prepared in every statement


async def test_a_new_step_status_is_a_change_to_core_plus_the_checked_sql(
    database_url: str,
) -> None:
    paused = extended(StepStatus, "PAUSED")
    columns = {**vocabulary_columns(), ("execution_steps", "status"): paused}
    # The enum alone: the database's CHECK does not allow the new member.
    assert compare_checks(await checks_of(database_url), columns) == [
        "StepStatus 'PAUSED' is not allowed by the CHECK on execution_steps.status"
    ]
    # SQL that names it is refused while the enum lacks it, accepted once the enum has it.
    pausing = SqlText("steps.sql", "UPDATE execution_steps SET status = 'PAUSED'", True)
    assert [p.message for p in check_text(pausing)] == [
        "'PAUSED' (execution_steps.status) is no member of StepStatus"
    ]
    assert check_text(pausing, {**literal_columns(), ("execution_steps", "status"): paused}) == []
    # The migration that goes with it (replacing the domain's CHECK) makes the database agree.
    statuses = ", ".join(f"'{s}'" for s in paused)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "ALTER DOMAIN step_status DROP CONSTRAINT step_status_check;"
            "ALTER DOMAIN step_status ADD CONSTRAINT step_status_check "
            f"CHECK (VALUE IN ({statuses}))"
        )
    finally:
        await conn.close()
    assert compare_checks(await checks_of(database_url), columns) == []
    assert compare_checks(await checks_of(database_url), vocabulary_columns()) == [
        "the CHECK on execution_steps.status allows 'PAUSED', no member of StepStatus"
    ]


# The migration on existing data -----------------------------------------------------------------

CHECKS_MIGRATION = [m for m in discover() if m.name == "0010_status_checks.sql"]
DOMAINS_MIGRATION = [m for m in discover() if m.name == "0022_status_domains.sql"]


@asynccontextmanager
async def migrated_before(postgres_url: str, migration: str) -> AsyncIterator[asyncpg.Connection]:
    """A new database migrated up to (not including) ``migration``."""
    name = f"govflow_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(with_database(postgres_url, name))
    try:
        earlier = [m for m in discover() if m.name < migration]
        await migrate(conn, earlier)
        yield conn
    finally:
        await conn.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def before_checks(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A database migrated up to (not including) ``0010_status_checks.sql``."""
    async with migrated_before(postgres_url, "0010") as conn:
        yield conn


@pytest.fixture
async def before_domains(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A database migrated up to (not including) ``0022_status_domains.sql``."""
    async with migrated_before(postgres_url, "0022") as conn:
        yield conn


async def insert_every_value(conn: asyncpg.Connection) -> None:
    """One row per value of every vocabulary (and NULL where the column allows it)."""
    workflow = await conn.fetchval("INSERT INTO workflows (name) VALUES ('w') RETURNING id")
    version = await conn.fetchval(
        "INSERT INTO workflow_versions (workflow_id, version, content_hash, spec, source) "
        "VALUES ($1, 1, 'h', '{}', '') RETURNING id",
        workflow,
    )
    for status in ExecutionStatus:
        await conn.execute(
            "INSERT INTO executions (workflow_id, workflow_version_id, status) VALUES ($1, $2, $3)",
            workflow,
            version,
            status,
        )
    execution = await conn.fetchval("SELECT id FROM executions LIMIT 1")
    strategies = [*Idempotency, None]
    for position, status in enumerate(StepStatus):
        await conn.execute(
            "INSERT INTO execution_steps (execution_id, position, step_key, action, status, "
            "idempotency_key, idempotency) VALUES ($1, $2, $3, 'a', $4, $3, $5)",
            execution,
            position,
            f"s{position}",
            status,
            strategies[position % len(strategies)],
        )
    steps = [r["id"] for r in await conn.fetch("SELECT id FROM execution_steps ORDER BY position")]
    added_by_0015 = {AttemptOutcome.HANDED_BACK}
    outcomes = [outcome for outcome in AttemptOutcome if outcome not in added_by_0015]
    for attempt, outcome in enumerate([*outcomes, None]):
        await conn.execute(
            "INSERT INTO execution_step_attempts (execution_step_id, attempt, fencing_token, "
            "outcome) VALUES ($1, $2, $3, $4)",
            steps[0],
            attempt,
            attempt,
            outcome,
        )
    roles = [*Role, None]
    added_by_0011 = {HumanTaskStatus.CLOSED, HumanTaskStatus.DELETED}
    task_statuses = [status for status in HumanTaskStatus if status not in added_by_0011]
    for index, status in enumerate(task_statuses):
        await conn.execute(
            "INSERT INTO human_tasks (execution_id, execution_step_id, title, status, "
            "assignee_role, reviewer_role) VALUES ($1, $2, 't', $3, $4, $5)",
            execution,
            steps[index],
            status,
            roles[index % len(roles)],
            roles[(index + 1) % len(roles)],
        )


async def test_the_migration_keeps_existing_rows_and_then_refuses_unknown_values(
    before_checks: asyncpg.Connection,
) -> None:
    conn = before_checks
    await insert_every_value(conn)
    assert await migrate(conn, CHECKS_MIGRATION) == ["0010_status_checks.sql"]
    assert await conn.fetchval("SELECT count(*) FROM executions") == len(ExecutionStatus)
    with pytest.raises(asyncpg.CheckViolationError, match="executions_status_check"):
        await conn.execute("UPDATE executions SET status = 'PAUSED'")
    with pytest.raises(asyncpg.CheckViolationError, match="human_tasks_assignee_role_check"):
        await conn.execute("UPDATE human_tasks SET assignee_role = 'CLERK'")
    with pytest.raises(asyncpg.CheckViolationError, match="outcome_check"):
        await conn.execute("UPDATE execution_step_attempts SET outcome = 'TIMEOUT'")


async def test_the_migration_stops_on_a_value_outside_the_vocabulary(
    before_checks: asyncpg.Connection,
) -> None:
    conn = before_checks
    await insert_every_value(conn)
    await conn.execute("UPDATE execution_steps SET status = 'SUCCEEDED' WHERE position = 0")
    with pytest.raises(asyncpg.CheckViolationError, match="execution_steps_status_check"):
        await migrate(conn, CHECKS_MIGRATION)
    applied = await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE name >= '0010'")
    assert applied == 0
    constraints = await conn.fetchval(
        "SELECT count(*) FROM pg_constraint WHERE conname = 'executions_status_check'"
    )
    assert constraints == 0


HOT_COLUMNS = [
    ("executions", "status", "execution_status_check"),
    ("execution_steps", "status", "step_status_check"),
    ("execution_steps", "idempotency", "idempotency_strategy_check"),
    ("execution_step_attempts", "outcome", "attempt_outcome_check"),
]
HOT_TABLES = ["executions", "execution_steps", "execution_step_attempts"]


async def hot_values(conn: asyncpg.Connection) -> list[tuple[str, str | None]]:
    return [
        (row["id"], row["value"])
        for table, column, _ in HOT_COLUMNS
        for row in await conn.fetch(
            f"SELECT id::text, {column} AS value FROM {table} ORDER BY 1"  # noqa: S608 - constants
        )
    ]


async def test_the_domains_migration_keeps_existing_rows_and_then_refuses_unknown_values(
    before_domains: asyncpg.Connection,
) -> None:
    conn = before_domains
    await insert_every_value(conn)
    step = await conn.fetchval("SELECT id FROM execution_steps ORDER BY position LIMIT 1")
    await conn.execute(
        "INSERT INTO execution_step_attempts (execution_step_id, attempt, fencing_token, "
        "outcome) VALUES ($1, 100, 100, $2)",
        step,
        AttemptOutcome.HANDED_BACK,
    )
    values = await hot_values(conn)
    files = "SELECT relname, relfilenode FROM pg_class WHERE relname = ANY ($1::text[])"
    tables = {row["relname"]: row["relfilenode"] for row in await conn.fetch(files, HOT_TABLES)}
    assert await migrate(conn, DOMAINS_MIGRATION) == ["0022_status_domains.sql"]
    # the same rows in the same tables: the columns changed type without a rewrite
    assert await hot_values(conn) == values
    assert {row["relname"]: row["relfilenode"] for row in await conn.fetch(files, HOT_TABLES)} == (
        tables
    )
    for table, column, constraint in HOT_COLUMNS:
        with pytest.raises(asyncpg.CheckViolationError, match=f'"{constraint}"'):
            await conn.execute(f"UPDATE {table} SET {column} = 'PAUSED'")  # noqa: S608 - constants
    with pytest.raises(asyncpg.CheckViolationError, match='"step_status_check"'):
        await conn.execute(
            "INSERT INTO execution_steps (execution_id, position, step_key, action, status, "
            "idempotency_key) SELECT execution_id, 99, 'x', 'a', $1, 'x' FROM execution_steps "
            "LIMIT 1",
            "SUCCEEDED",
        )
    # the vocabulary columns of the other tables keep their table CHECKs
    with pytest.raises(asyncpg.CheckViolationError, match="human_tasks_status_check"):
        await conn.execute("UPDATE human_tasks SET status = 'PAUSED'")


async def test_the_domains_migration_stops_on_a_value_outside_the_vocabulary(
    before_domains: asyncpg.Connection,
) -> None:
    conn = before_domains
    await insert_every_value(conn)
    # A row the table CHECK never read: the CHECK dropped and added back NOT VALID by hand.
    await conn.execute(
        "ALTER TABLE execution_steps DROP CONSTRAINT execution_steps_status_check;"
        "UPDATE execution_steps SET status = 'SUCCEEDED' WHERE position = 0;"
        "ALTER TABLE execution_steps ADD CONSTRAINT execution_steps_status_check "
        "CHECK (status IN ('PENDING')) NOT VALID"
    )
    with pytest.raises(
        asyncpg.CheckViolationError,
        match='column "status" of table "execution_steps" contains values that violate',
    ):
        await migrate(conn, DOMAINS_MIGRATION)
    applied = await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE name >= '0022'")
    assert applied == 0
    domains = await conn.fetchval(
        "SELECT count(*) FROM pg_type WHERE typtype = 'd' AND typname = ANY ($1::text[])",
        ["execution_status", "step_status", "idempotency_strategy", "attempt_outcome"],
    )
    assert domains == 0
    table_checks = await conn.fetchval(
        "SELECT count(*) FROM pg_constraint WHERE conname = ANY ($1::text[])",
        [
            "executions_status_check",
            "execution_steps_status_check",
            "execution_steps_idempotency_check",
            "execution_step_attempts_outcome_check",
        ],
    )
    assert table_checks == 4
