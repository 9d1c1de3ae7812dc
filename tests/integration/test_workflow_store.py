"""Loading workflow files into PostgreSQL: versions, no-ops, concurrency, all or nothing.

What was saved is read back the way the application reads it: the one workflow catalog that
starting an execution uses, the engine's spec source, and the listing of the API and the CLI.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import msgspec
import pytest

from govflow.adapters.db.engine import Database
from govflow.adapters.db.executions import PgWorkflowCatalog
from govflow.adapters.db.seed import DEPARTMENTS, seed_departments
from govflow.adapters.db.specs import CachedSpecSource, UnknownVersionError
from govflow.adapters.db.workflow_queries import PgWorkflowAdmin
from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.core.spec import WorkflowSpec
from govflow.core.spec_errors import SpecError
from govflow.core.validation import validate_workflow
from govflow.core.versioning import content_hash, normalise
from govflow.plugins import PluginManager
from govflow.usecases.audit import Actor
from govflow.usecases.paging import PageRequest
from govflow.usecases.ports_workflows import UnknownDepartmentError
from govflow.usecases.workflow_views import WorkflowFilter
from govflow.usecases.workflows import SourceFile, load_workflow_files

EXAMPLES = Path(__file__).parents[2] / "workflows.d"
ACTIONS = PluginManager.from_env(
    {"GOVFLOW_PLUGINS_ALLOW": "manual,notification,jira,workflow,wait"}
)
INPUTS = ACTIONS.actions().inputs()

SIMPLE = """\
name: simple-case
title: {title}
department: public-works
steps:
  - id: note
    action: notification
    with: {{channel: log, message: "{message}"}}
"""


def simple(title: str = "Simple", message: str = "hello") -> SourceFile:
    return SourceFile("simple-case.yaml", SIMPLE.format(title=title, message=message))


def example_files() -> list[SourceFile]:
    return [SourceFile(p.name, p.read_text()) for p in sorted(EXAMPLES.glob("*.y*ml"))]


def example_departments() -> set[str]:
    return {validate_workflow(f.text, f.path, INPUTS).department for f in example_files()}


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    await seed_departments(connection)
    yield connection
    await connection.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, min_size=1, max_size=2)
    await database.start()
    yield database
    await database.close()


async def add_example_departments(conn: asyncpg.Connection) -> None:
    """The departments the examples name that the seed does not create (see the test below)."""
    for code in sorted(example_departments()):
        await conn.execute(
            "INSERT INTO departments (code, name) VALUES ($1, $1) ON CONFLICT DO NOTHING", code
        )


async def count(conn: asyncpg.Connection, table: str) -> int:
    # The table name is a literal of the calling test, never input.
    return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608


def test_every_department_the_examples_name_is_seeded() -> None:
    seeded = {code for code, _ in DEPARTMENTS}
    missing = sorted(example_departments() - seeded)
    assert not missing, f"workflows.d names departments `govflow seed` does not create: {missing}"


async def test_loading_the_examples_creates_version_one_of_each(
    conn: asyncpg.Connection,
) -> None:
    await add_example_departments(conn)
    files = example_files()
    results = await load_workflow_files(files, INPUTS, PgWorkflowStore(conn))
    assert [r.describe() for r in results] == ["created"] * len(files)
    assert all(r.created and r.changed and r.version_number == 1 for r in results)
    rows = await conn.fetch(
        "SELECT w.name, v.version, v.source, v.source_path, v.content_hash, "
        "(SELECT count(*) FROM workflow_steps s WHERE s.workflow_version_id = v.id) AS steps "
        "FROM workflows w JOIN workflow_versions v ON v.id = w.current_version_id ORDER BY w.name"
    )
    assert len(rows) == len(files)
    by_path = {f.path: f for f in files}
    for row in rows:
        spec = validate_workflow(by_path[row["source_path"]].text, row["source_path"], INPUTS)
        assert row["name"] == spec.name
        assert row["version"] == 1
        assert row["source"] == by_path[row["source_path"]].text
        assert row["content_hash"] == content_hash(spec)
        assert row["steps"] == len(spec.steps)
    audit = await conn.fetch("SELECT action, entity_id FROM audit_logs ORDER BY id")
    assert sorted(r["action"] for r in audit) == sorted(
        ["WORKFLOW_CREATED", "WORKFLOW_VERSION_CREATED"] * len(files)
    )


async def test_an_unchanged_reload_is_a_no_op(conn: asyncpg.Connection) -> None:
    await add_example_departments(conn)
    store = PgWorkflowStore(conn)
    first = await load_workflow_files(example_files(), INPUTS, store)
    before = [await count(conn, t) for t in ("workflow_versions", "workflow_steps", "audit_logs")]
    again = await load_workflow_files(example_files(), INPUTS, store)
    assert [r.describe() for r in again] == ["unchanged"] * len(first)
    assert [r.version_id for r in again] == [r.version_id for r in first]
    after = [await count(conn, t) for t in ("workflow_versions", "workflow_steps", "audit_logs")]
    assert after == before


async def test_changed_content_adds_a_version_and_keeps_the_old_one(
    conn: asyncpg.Connection, db: Database
) -> None:
    store = PgWorkflowStore(conn)
    actor = Actor(email="loader@example.org")
    (v1,) = await load_workflow_files([simple()], INPUTS, store, actor)
    (v2,) = await load_workflow_files([simple(title="Simple, renamed")], INPUTS, store, actor)
    assert (v2.created, v2.changed, v2.version_number) == (False, True, 2)
    assert v2.describe() == "new version 2"
    assert v2.workflow_id == v1.workflow_id
    versions = await conn.fetch(
        "SELECT id, version FROM workflow_versions WHERE workflow_id = $1 ORDER BY version",
        v1.workflow_id,
    )
    assert [(r["id"], r["version"]) for r in versions] == [(v1.version_id, 1), (v2.version_id, 2)]
    workflow = await conn.fetchrow("SELECT * FROM workflows WHERE id = $1", v1.workflow_id)
    assert workflow["current_version_id"] == v2.version_id
    assert workflow["title"] == "Simple, renamed"
    assert (await CachedSpecSource(db.pool).spec(v1.version_id)).title == "Simple"
    audit = await conn.fetch("SELECT action, actor_email FROM audit_logs ORDER BY id")
    assert [r["action"] for r in audit] == [
        "WORKFLOW_CREATED",
        "WORKFLOW_VERSION_CREATED",
        "WORKFLOW_VERSION_CREATED",
    ]
    assert {r["actor_email"] for r in audit} == {"loader@example.org"}


async def test_going_back_to_older_content_makes_that_version_current_again(
    conn: asyncpg.Connection, db: Database
) -> None:
    store = PgWorkflowStore(conn)
    (v1,) = await load_workflow_files([simple()], INPUTS, store)
    await load_workflow_files([simple(message="changed")], INPUTS, store)
    (back,) = await load_workflow_files([simple()], INPUTS, store)
    assert back.describe() == "restored version 1"
    assert back.version_id == v1.version_id
    assert await count(conn, "workflow_versions") == 2
    current = await PgWorkflowCatalog(db.pool).current("simple-case", None)
    assert current is not None
    assert current.version_id == v1.version_id


async def test_concurrent_loads_of_new_content_create_exactly_one_version(
    database_url: str, conn: asyncpg.Connection
) -> None:
    await load_workflow_files([simple()], INPUTS, PgWorkflowStore(conn))
    connections = [await asyncpg.connect(database_url) for _ in range(6)]
    try:
        changed = [simple(message="everyone at once")]
        outcomes = await asyncio.gather(
            *(load_workflow_files(changed, INPUTS, PgWorkflowStore(c)) for c in connections)
        )
    finally:
        for c in connections:
            await c.close()
    results = [result for (result,) in outcomes]
    assert sorted(r.describe() for r in results) == ["new version 2"] + ["unchanged"] * 5
    assert len({r.version_id for r in results}) == 1
    assert await count(conn, "workflow_versions") == 2
    assert await count(conn, "workflows") == 1


async def test_concurrent_first_loads_create_the_workflow_once(
    database_url: str, conn: asyncpg.Connection
) -> None:
    connections = [await asyncpg.connect(database_url) for _ in range(4)]
    try:
        outcomes = await asyncio.gather(
            *(load_workflow_files([simple()], INPUTS, PgWorkflowStore(c)) for c in connections)
        )
    finally:
        for c in connections:
            await c.close()
    assert sorted(r.describe() for (r,) in outcomes) == ["created"] + ["unchanged"] * 3
    assert await count(conn, "workflow_versions") == 1


async def test_an_invalid_file_loads_nothing(conn: asyncpg.Connection) -> None:
    await add_example_departments(conn)
    broken = SourceFile("broken.yaml", "name: broken\ntitle: Broken\ndepartment: public-works\n")
    wrong = SourceFile(
        "wrong.yaml", SIMPLE.format(title="x", message="m").replace("channel: log", "channel: sms")
    )
    with pytest.raises(SpecError) as caught:
        await load_workflow_files([*example_files(), broken, wrong], INPUTS, PgWorkflowStore(conn))
    assert caught.value.format().splitlines() == [
        "broken.yaml:1:1: $: missing required key 'steps'",
        "wrong.yaml:7:21: steps[0].with.channel: expected one of log, webhook, email, got 'sms'",
    ]
    assert await count(conn, "workflows") == 0
    assert await count(conn, "audit_logs") == 0


async def test_one_workflow_name_in_two_files_is_refused(conn: asyncpg.Connection) -> None:
    twin = SourceFile("twin.yaml", simple().text)
    with pytest.raises(SpecError) as caught:
        await load_workflow_files([simple(), twin], INPUTS, PgWorkflowStore(conn))
    assert caught.value.format() == (
        "twin.yaml:1:7: name: workflow 'simple-case' is also defined in simple-case.yaml"
    )


async def test_an_unknown_department_loads_nothing(conn: asyncpg.Connection) -> None:
    elsewhere = SourceFile("elsewhere.yaml", simple().text.replace("public-works", "public-work"))
    with pytest.raises(SpecError) as caught:
        await load_workflow_files(
            [SourceFile("other.yaml", simple().text.replace("simple-case", "other")), elsewhere],
            INPUTS,
            PgWorkflowStore(conn),
        )
    assert caught.value.format() == (
        "elsewhere.yaml:3:13: department: unknown department 'public-work'"
        " (did you mean 'public-works'?)"
    )
    assert await count(conn, "workflows") == 0


async def test_the_store_itself_refuses_an_unknown_department(conn: asyncpg.Connection) -> None:
    text = simple().text.replace("public-works", "nowhere")
    spec = validate_workflow(text, "nowhere.yaml", INPUTS)
    with pytest.raises(UnknownDepartmentError, match=r"nowhere\.yaml: department: .*'nowhere'"):
        await PgWorkflowStore(conn).save(spec, text, "nowhere.yaml", Actor())
    assert await count(conn, "workflows") == 0


async def test_the_stored_spec_round_trips(conn: asyncpg.Connection, db: Database) -> None:
    await add_example_departments(conn)
    store = PgWorkflowStore(conn)
    specs, catalog = CachedSpecSource(db.pool), PgWorkflowCatalog(db.pool)
    results = await load_workflow_files(example_files(), INPUTS, store)
    for file, result in zip(example_files(), results, strict=True):
        spec = validate_workflow(file.text, file.path, INPUTS)
        stored = await conn.fetchval(
            "SELECT spec::text FROM workflow_versions WHERE id = $1", result.version_id
        )
        spec_json = msgspec.json.decode(stored)
        assert spec_json == normalise(spec)
        assert msgspec.convert(spec_json, WorkflowSpec) == spec
        stored_spec = await specs.spec(result.version_id)
        assert stored_spec == spec
        assert content_hash(stored_spec) == result.content_hash
        department = await conn.fetchval(
            "SELECT id FROM departments WHERE code = $1", spec.department
        )
        current = await catalog.current(result.workflow_id, None)
        assert current is not None
        assert (current.version_id, current.department_id) == (result.version_id, department)
        steps = await conn.fetch(
            "SELECT position, step_key, action, config::text AS config FROM workflow_steps "
            "WHERE workflow_version_id = $1 ORDER BY position",
            result.version_id,
        )
        assert [(s["position"], s["step_key"], s["action"]) for s in steps] == [
            (i, step.id, step.action) for i, step in enumerate(spec.steps)
        ]
        assert [msgspec.json.decode(s["config"]) for s in steps] == normalise(spec)["steps"]


async def test_reading_workflows(conn: asyncpg.Connection, db: Database) -> None:
    (result,) = await load_workflow_files([simple()], INPUTS, PgWorkflowStore(conn))
    catalog = PgWorkflowCatalog(db.pool)
    by_name = await catalog.current("simple-case", None)
    by_id = await catalog.current(result.workflow_id, None)
    assert by_name is not None
    assert by_name == by_id
    assert (by_name.workflow_id, by_name.version_id, by_name.name) == (
        result.workflow_id,
        result.version_id,
        "simple-case",
    )
    assert await catalog.current("absent", None) is None
    public_works = await conn.fetchval("SELECT id FROM departments WHERE code = 'public-works'")
    assert await catalog.current("simple-case", public_works) is not None
    assert await catalog.current("simple-case", uuid.uuid4()) is None
    assert (await CachedSpecSource(db.pool).spec(result.version_id)).name == "simple-case"
    listed = await PgWorkflowAdmin(db).search(WorkflowFilter(), PageRequest(1, 10), None)
    (summary,) = listed.items
    assert (summary.name, summary.current_version, summary.department, summary.is_active) == (
        "simple-case",
        1,
        "public-works",
        True,
    )
    assert summary.content_hash == result.content_hash
    with pytest.raises(UnknownVersionError):
        await CachedSpecSource(db.pool).spec(result.workflow_id)
