"""``govflow workflows``, run as a separate process: validate, schema, load, list."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import asyncpg
import jsonschema
import pytest
import yaml

from govflow.adapters.db.seed import seed_departments
from govflow.cli.workflows import schema_text
from govflow.core.validation import validate_workflow
from govflow.core.versioning import content_hash
from govflow.plugins import PluginManager
from govflow.settings import Settings
from tests.conftest import TEST_JWT_SECRET
from tests.unit.dsl.test_corpus import CORPUS, EXPECTED, FILES

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "workflows.d"
SCHEMA_FILE = ROOT / "docs" / "schema" / "workflow.schema.json"
REGENERATE = "govflow workflows schema --output docs/schema/workflow.schema.json"
BUILT_INS = "manual,notification,jira,wait,workflow"
INPUTS = PluginManager.from_env({"GOVFLOW_PLUGINS_ALLOW": BUILT_INS}).actions().inputs()

# The corpus is written against stand-in actions (tests/unit/dsl/actions.py); this plugin,
# installed like any third-party one (a dist-info with an entry point), offers them to the CLI.
STAND_IN_PLUGIN = """
from govflow.plugins import Idempotency, hookimpl
from tests.unit.dsl.actions import TEST_ACTIONS


class StandIn:
    description = "A stand-in action for the DSL corpus."
    idempotency = Idempotency.NONE

    def __init__(self, name, inputs, outputs):
        self.name = name
        self.inputs = inputs
        self.outputs = outputs

    async def execute(self, ctx, params):
        return {}

    async def lookup(self, ctx, params):
        return None

    def idempotency_for(self, params):
        return self.idempotency


@hookimpl
def govflow_register_actions(register):
    for name, inputs in TEST_ACTIONS.items():
        register.add(StandIn(name, inputs, TEST_ACTIONS.outputs.get(name)))
"""


def govflow(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {**os.environ, "GOVFLOW_PLUGINS_ALLOW": BUILT_INS}
    return subprocess.run(
        [sys.executable, "-m", "govflow", "workflows", *args],
        cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def stand_in_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("stand-in-site")
    (site / "govflow_corpus_actions.py").write_text(STAND_IN_PLUGIN)
    info = site / "govflow_corpus_actions-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: govflow-corpus-actions\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text("[govflow.plugins]\ncorpus = govflow_corpus_actions\n")
    return site


@pytest.fixture(scope="module")
def corpus_report(stand_in_site: Path) -> tuple[int, dict[str, list[str]]]:
    """Validate the whole corpus in one run; the output lines by file."""
    env = {
        "PYTHONPATH": os.pathsep.join([str(stand_in_site), str(ROOT)]),
        "GOVFLOW_PLUGINS_ALLOW": "corpus",
    }
    result = govflow("validate", *FILES, cwd=CORPUS, env=env)
    by_file: dict[str, list[str]] = defaultdict(list)
    for line in result.stdout.splitlines():
        by_file[line.split(":", 1)[0]].append(line)
    assert "problem(s) in" in result.stderr, result.stderr
    return result.returncode, by_file


@pytest.mark.parametrize("name", FILES)
def test_validate_reports_each_broken_file_exactly(
    name: str, corpus_report: tuple[int, dict[str, list[str]]]
) -> None:
    returncode, by_file = corpus_report
    assert returncode == 1
    assert by_file[name] == EXPECTED[name]


def test_validate_reports_a_broken_file_alone(stand_in_site: Path) -> None:
    env = {
        "PYTHONPATH": os.pathsep.join([str(stand_in_site), str(ROOT)]),
        "GOVFLOW_PLUGINS_ALLOW": "corpus",
    }
    result = govflow("validate", "corpus/duplicate-key.yaml", cwd=CORPUS.parent, env=env)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        line.replace("duplicate-key.yaml", "corpus/duplicate-key.yaml", 1)
        for line in EXPECTED["duplicate-key.yaml"]
    ]
    assert "1 problem(s) in 1 file(s)" in result.stderr


def test_validate_accepts_the_examples_with_the_built_in_plugins() -> None:
    result = govflow("validate", "workflows.d")
    assert result.returncode == 0, result.stdout + result.stderr
    expected = []
    for path in sorted(EXAMPLES.glob("*.y*ml")):
        spec = validate_workflow(path.read_text(), path.name, INPUTS)
        steps = len(spec.steps)
        expected.append(
            f"workflows.d/{path.name}: {spec.name}, {steps} step{'s' * (steps != 1)}, "
            f"version {content_hash(spec)[:12]}"
        )
    assert result.stdout.splitlines() == expected


def test_the_published_schema_is_the_generated_one(tmp_path: Path) -> None:
    message = f"docs/schema/workflow.schema.json is stale; regenerate it with: {REGENERATE}"
    assert SCHEMA_FILE.read_text() == schema_text(INPUTS), message
    result = govflow("schema", "--output", str(tmp_path / "schema.json"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "schema.json").read_text() == SCHEMA_FILE.read_text(), message
    printed = govflow("schema")
    assert printed.stdout == SCHEMA_FILE.read_text()


def test_the_examples_validate_against_the_published_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(EXAMPLES.glob("*.y*ml")):
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], path.name


def test_the_published_schema_rejects_a_wrong_with_block() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    workflow = {
        "name": "x",
        "title": "X",
        "department": "public-works",
        "steps": [{"id": "a", "action": "notification", "with": {"channel": "sms"}}],
    }
    assert list(validator.iter_errors(workflow))


# -- load and list, against a test database ------------------------------------------------


@pytest.fixture
def db_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "GOVFLOW_MODE": "test",
        "JWT_SECRET": TEST_JWT_SECRET,
        "GOVFLOW_HOME": str(tmp_path / "home"),
        "WORKFLOWS_DIR": str(EXAMPLES),
    }


@pytest.fixture
async def departments(settings: Settings) -> None:
    """The seeded departments, plus those the examples name that the seed lacks (see
    ``test_every_department_the_examples_name_is_seeded``)."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        await seed_departments(conn)
        for path in EXAMPLES.glob("*.y*ml"):
            code = validate_workflow(path.read_text(), path.name, INPUTS).department
            await conn.execute(
                "INSERT INTO departments (code, name) VALUES ($1, $1) ON CONFLICT DO NOTHING", code
            )
    finally:
        await conn.close()


async def workflow_count(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM workflows"))
    finally:
        await conn.close()


@pytest.mark.usefixtures("departments")
def test_load_then_reload_then_list(db_env: dict[str, str], tmp_path: Path) -> None:
    first = govflow("load", cwd=tmp_path, env=db_env)
    assert first.returncode == 0, first.stdout + first.stderr
    names = sorted(
        validate_workflow(p.read_text(), p.name, INPUTS).name for p in EXAMPLES.glob("*.y*ml")
    )
    created = re.compile(r"^workflow ([a-z0-9-]+): created \(version 1, [0-9a-f]{12}\)$")
    loaded = [created.match(line) for line in first.stdout.splitlines()]
    assert all(loaded), first.stdout
    assert sorted(m.group(1) for m in loaded if m) == names

    again = govflow("load", str(EXAMPLES), cwd=tmp_path, env=db_env)
    assert again.returncode == 0, again.stderr
    assert all(": unchanged (version 1, " in line for line in again.stdout.splitlines())
    assert len(again.stdout.splitlines()) == len(names)

    listed = govflow("list", cwd=tmp_path, env=db_env)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert rows[0] == ["NAME", "VERSION", "DEPARTMENT", "ACTIVE"]
    assert [row[0] for row in rows[1:]] == names
    assert all(row[1] == "1" and row[3] == "yes" for row in rows[1:])


@pytest.mark.usefixtures("departments")
async def test_load_with_an_invalid_file_loads_nothing(
    db_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "wf"
    folder.mkdir()
    for path in EXAMPLES.glob("*.y*ml"):
        (folder / path.name).write_text(path.read_text())
    (folder / "zz-broken.yml").write_text(
        textwrap.dedent(
            """\
            name: zz-broken
            title: Broken
            department: public-works
            steps:
              - id: go
                action: notification
                with: {channel: log}
            """
        )
    )
    result = govflow("load", str(folder), cwd=tmp_path, env=db_env)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{folder}/zz-broken.yml:7:5: steps[0].with: missing required key 'message'"
    ]
    assert "nothing was loaded" in result.stderr
    assert await workflow_count(settings) == 0


@pytest.mark.usefixtures("departments")
async def test_load_with_an_unknown_department_loads_nothing(
    db_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        "name: a\ntitle: A\ndepartment: nowhere\nsteps:\n"
        "  - {id: go, action: notification, with: {channel: log, message: hi}}\n"
    )
    result = govflow("load", str(folder), cwd=tmp_path, env=db_env)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"{folder}/a.yaml:3:13: department: unknown department 'nowhere'")
    assert await workflow_count(settings) == 0


# -- files and folders in any mix, step templates, users checked by validate ------------------

HELLO = """\
name: {name}
title: Hello
department: public-works
steps:
  - id: greet
    action: notification
    with: {{channel: log, message: hi}}
"""


@pytest.mark.usefixtures("departments")
def test_load_takes_files_and_folders_in_any_mix(db_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "a.yaml").write_text(HELLO.format(name="mix-a"))
    (folder / "b.yml").write_text(HELLO.format(name="mix-b"))
    single = tmp_path / "elsewhere" / "c.yaml"
    single.parent.mkdir()
    single.write_text(HELLO.format(name="mix-c"))
    result = govflow("load", str(single), str(folder), str(folder / "a.yaml"), env=db_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split(" (")[0] for line in result.stdout.splitlines()] == [
        "workflow mix-c: created",
        "workflow mix-a: created",
        "workflow mix-b: created",
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = govflow("load", str(empty), env=db_env)
    assert nothing.returncode == 1
    assert "no workflow files (*.yaml, *.yml) found; nothing was loaded" in nothing.stderr


@pytest.mark.usefixtures("departments")
async def test_load_expands_a_step_template_and_reports_a_mistake_in_it(
    db_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "workflows.d"
    (folder / "steps").mkdir(parents=True)
    template = folder / "steps" / "notify.yaml"
    template.write_text("action: notification\nwith:\n  channel: log\n  message: Filed\n")
    (folder / "filed.yaml").write_text(
        "name: filed\ntitle: Filed\ndepartment: public-works\nsteps:\n"
        "  - id: tell\n    uses: ./steps/notify.yaml\n"
        "  - id: tell_again\n    uses: ./steps/notify.yaml\n    with: {message: Again}\n"
    )
    loaded = govflow("load", str(folder), env=db_env)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    conn = await asyncpg.connect(settings.database_url)
    try:
        spec = json.loads(
            await conn.fetchval(
                "SELECT v.spec FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id"
                " WHERE w.name = 'filed'"
            )
        )
    finally:
        await conn.close()
    assert [(s["id"], s["action"], s["with"]) for s in spec["steps"]] == [
        ("tell", "notification", {"channel": "log", "message": "Filed"}),
        ("tell_again", "notification", {"channel": "log", "message": "Again"}),
    ]

    template.write_text("action: notification\nwith:\n  channel: sms\n  message: Filed\n")
    refused = govflow("load", str(folder / "filed.yaml"), env=db_env)
    assert refused.returncode == 1
    assert refused.stdout.splitlines() == [
        f"{template}:3:12: steps[0].with.channel: expected one of log, webhook, email, got 'sms'",
        f"{template}:3:12: steps[1].with.channel: expected one of log, webhook, email, got 'sms'",
    ]


MANUAL_FOR = """\
name: people
title: People
department: public-works
steps:
  - id: review
    action: manual
    with:
      title: Review
      assignee: {{user: {assignee}}}
      reviewers: {{user: [{reviewer}, Clerk@Example.org]}}
"""


@pytest.mark.usefixtures("departments")
async def test_validate_checks_the_users_named_when_the_database_answers(
    db_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        for email, active in (("clerk@example.org", True), ("gone@example.org", False)):
            await conn.execute(
                "INSERT INTO users (email, full_name, password_hash, role, is_active)"
                " VALUES ($1, $1, 'x', 'OPERATOR', $2)",
                email,
                active,
            )
    finally:
        await conn.close()
    path = tmp_path / "people.yaml"
    path.write_text(MANUAL_FOR.format(assignee="nobody@example.org", reviewer="gone@example.org"))
    refused = govflow("validate", str(path), env=db_env)
    assert refused.returncode == 1
    assert refused.stdout.splitlines() == [
        f"{path}:9:24: steps[0].with.assignee.user: no active user has the email "
        "'nobody@example.org'",
        f"{path}:10:26: steps[0].with.reviewers.user[0]: no active user has the email "
        "'gone@example.org'",
    ]
    path.write_text(MANUAL_FOR.format(assignee="CLERK@example.org", reviewer="clerk@example.org"))
    accepted = govflow("validate", str(path), env=db_env)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert accepted.stderr == ""

    offline = govflow("validate", "--offline", str(path), env=db_env)
    assert offline.returncode == 0
    assert offline.stderr.splitlines() == [
        "govflow: departments and assignees (users by email) not checked: --offline"
    ]
    unset = govflow("validate", str(path), env={**db_env, "DATABASE_URL": ""})
    assert unset.returncode == 0
    assert unset.stderr.splitlines() == [
        "govflow: departments and assignees (users by email) not checked: DATABASE_URL is not set"
    ]
    unreachable = govflow(
        "validate", str(path), env={**db_env, "DATABASE_URL": "postgresql://u@127.0.0.1:9/x"}
    )
    assert unreachable.returncode == 0
    (line,) = unreachable.stderr.splitlines()
    assert line.startswith(
        "govflow: departments and assignees (users by email) not checked: cannot read the database:"
    )
