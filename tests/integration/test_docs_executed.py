"""The documentation's examples are run, not just read.

Every ``yaml`` block of ``README.md`` and ``docs/`` is loaded into a real database (departments
seeded as ``govflow up`` seeds them) and run by the engine with the real actions, started with
the inputs of the ``govflow executions start`` command shown next to it; the statuses must be the
ones the document states (see ``tests/support/doc_examples.py`` for the conventions). The
plugin guide's plugin code runs a workflow in the engine, its test examples pass, and the
README's commands run through the real CLI against a real worker process.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib
import inspect
import os
import re
import shlex
import subprocess
import sys
import tomllib
import types
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import click
import pytest

from govflow.adapters.db.seed import seed_departments
from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.bootstrap import Container, container
from govflow.cli.main import cli
from govflow.core.spec_errors import SpecError
from govflow.core.statuses import StepStatus
from govflow.plugins import PluginManager
from govflow.settings import Settings
from govflow.usecases.run_step import StepRunner
from govflow.usecases.start_execution import StartRequest
from govflow.usecases.workflows import SourceFile, load_workflow_files
from tests.support.doc_examples import (
    MARKERS,
    ROOT,
    Block,
    Run,
    blocks,
    runs,
    start_arguments,
    status_literals,
)
from tests.support.engine import eventually, process_env, processes, step_rows

EXAMPLE_PLUGIN = ROOT / "docs" / "examples" / "govflow-hello"
DOCUMENTS = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "docs").glob("examples/*/*.md")]
)
SETTLED = frozenset({"COMPLETED", "FAILED", "CANCELED", "WAITING", "NEEDS_ATTENTION"})
ALL_BLOCKS = [block for path in DOCUMENTS for block in blocks(path)]
YAML_BLOCKS = [block for block in ALL_BLOCKS if block.lang in ("yaml", "yml")]
RUNNABLE = [block for block in YAML_BLOCKS if block.marker is None]
REFUSED = [block for block in YAML_BLOCKS if block.marker == "refused"]


def _ids(found: Sequence[Block]) -> list[str]:
    return [block.where for block in found]


class InlineQueue:
    """A worker inside the test: each wake-up runs its step at once with a real
    :class:`StepRunner`, which goes on with the execution's next steps as a worker does."""

    def __init__(self) -> None:
        self.runner: StepRunner | None = None
        self.running: set[asyncio.Task[None]] = set()
        self.errors: list[BaseException] = []
        self.held = False
        """While true, wake-ups are dropped: an execution stays where it was started."""

    async def wake(self, step_ids: Sequence[UUID]) -> None:
        assert self.runner is not None
        if self.held:
            return
        for step_id in step_ids:
            task = asyncio.create_task(self.runner.run(step_id))
            self.running.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(task.exception())  # type: ignore[arg-type]

    def check(self) -> None:
        if self.errors:
            raise self.errors[0]


@dataclass(frozen=True)
class Outcome:
    """Where a started execution settled: its status, each step's status and output."""

    execution_id: UUID
    status: str
    steps: list[tuple[str, str]]
    outputs: dict[str, Any]


@dataclass
class DocEngine:
    """GovFlow with its installed actions (and a document's own plugin) over a fresh database."""

    services: Container
    queue: InlineQueue
    loaded: list[str] = field(default_factory=list)

    async def load(self, block: Block) -> str:
        """Load ``block`` as ``govflow workflows load`` would; the workflow's name."""
        async with self.services.db.pool.acquire() as conn:
            (result,) = await load_workflow_files(
                # padded so that problems name the document's own line numbers
                [SourceFile(block.doc, "\n" * block.line + block.text)],
                self.services.actions.inputs(),
                PgWorkflowStore(conn),
            )
        return result.name

    async def run(self, run: Run) -> Outcome:
        """Start ``run`` and wait until it settles, as ``--wait`` does."""
        started = await self.services.start_execution(
            StartRequest(workflow=run.workflow, inputs=run.inputs)
        )

        async def probe() -> tuple[str, int]:
            self.queue.check()
            async with self.services.db.pool.acquire() as conn:
                status = await conn.fetchval(
                    "SELECT status FROM executions WHERE id = $1", started.execution_id
                )
            return str(status), len(self.queue.running)

        status, _ = await eventually(probe, lambda seen: seen[0] in SETTLED and seen[1] == 0)
        self.queue.check()
        async with self.services.db.pool.acquire() as conn:
            steps = await step_rows(conn, started.execution_id)
        outputs = {row["step_key"]: row["output"] for row in steps}
        statuses = [(row["step_key"], row["status"]) for row in steps]
        return Outcome(started.execution_id, status, statuses, outputs)


@contextlib.asynccontextmanager
async def doc_engine(settings: Settings, *plugins: types.ModuleType) -> AsyncIterator[DocEngine]:
    """The engine with the entry-point plugins (whatever ``GOVFLOW_PLUGINS_*`` says) plus
    ``plugins``, and the departments ``govflow up`` seeds."""
    manager = PluginManager()
    manager.load_entry_points()
    for plugin in plugins:
        manager.register(plugin, name=plugin.__name__)
    manager.check_pending()
    async with container(settings, plugins=manager) as services:
        queue = InlineQueue()
        services.queue = queue  # type: ignore[assignment]
        queue.runner = services.step_runner()
        async with services.db.pool.acquire() as conn:
            await seed_departments(conn)
        try:
            yield DocEngine(services, queue)
        finally:
            await queue.runner.close()


@contextlib.contextmanager
def example_plugin_importable() -> Iterator[types.ModuleType]:
    """``govflow_hello`` from ``docs/examples/govflow-hello``, importable while in use."""
    sys.path.insert(0, str(EXAMPLE_PLUGIN))
    try:
        import govflow_hello

        yield govflow_hello
    finally:
        sys.path.remove(str(EXAMPLE_PLUGIN))
        sys.modules.pop("govflow_hello", None)


def _needs_example(block: Block) -> bool:
    """Whether ``block`` uses the example plugin's action (it is that plugin's README)."""
    return block.doc.startswith("docs/examples/govflow-hello/")


# -- what every document must follow ---------------------------------------------------------


def test_the_documents_have_runnable_examples() -> None:
    docs = {block.doc for block in RUNNABLE}
    assert {"README.md", "docs/dsl.md", "docs/examples/govflow-hello/README.md"} <= docs
    assert len([block for block in RUNNABLE if block.doc == "docs/dsl.md"]) >= 8


def test_markers_are_known_and_mark_yaml_blocks() -> None:
    wrong = [
        f"{block.where}: {block.marker!r} on a {block.lang or 'plain'} block"
        for block in ALL_BLOCKS
        if block.marker is not None and (block.marker not in MARKERS or block.lang != "yaml")
    ]
    assert wrong == []


@pytest.mark.parametrize("block", RUNNABLE, ids=_ids(RUNNABLE))
def test_status_comparisons_name_real_step_statuses(block: Block) -> None:
    """``steps.x.status == 'SUCCEEDED'`` is always false: the step would be skipped silently."""
    unknown = set(status_literals(block.text)) - {status.value for status in StepStatus}
    assert not unknown, f"{block.where}: no step status {sorted(unknown)}"


def test_status_literal_check_sees_every_spelling() -> None:
    text = (
        "if: \"steps.a.status == 'SUCCEEDED'\"\n"
        "if: \"'DONE' != steps.b.status\"\n"
        "if: \"steps.c.status in ['COMPLETED', 'OK']\"\n"
    )
    assert status_literals(text) == ["SUCCEEDED", "DONE", "COMPLETED", "OK"]


# -- the workflows run -----------------------------------------------------------------------


@pytest.mark.parametrize("block", RUNNABLE, ids=_ids(RUNNABLE))
async def test_workflow_example_runs_as_documented(block: Block, settings: Settings) -> None:
    with contextlib.ExitStack() as stack:
        plugins = (
            [stack.enter_context(example_plugin_importable())] if _needs_example(block) else []
        )
        async with doc_engine(settings, *plugins) as engine:
            name = await engine.load(block)
            documented = runs(block, name)
            for run in documented:
                done = await engine.run(run)
                expected = run.expected([key for key, _ in done.steps])
                assert (done.status, done.steps) == (run.status, expected), (
                    f"{block.where}: {run.workflow} with {run.inputs}"
                )


@pytest.mark.parametrize("block", REFUSED, ids=_ids(REFUSED))
async def test_refused_example_is_refused(block: Block, settings: Settings) -> None:
    async with doc_engine(settings) as engine:
        with pytest.raises(SpecError):
            await engine.load(block)
        async with engine.services.db.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM workflows") == 0


def test_the_expected_statuses_follow_the_convention() -> None:
    run = Run("w", {}, "WAITING", {"review": "WAITING"})
    assert run.expected(["a", "review", "b"]) == [
        ("a", "COMPLETED"),
        ("review", "WAITING"),
        ("b", "PENDING"),
    ]
    assert Run("w", {}).expected(["a", "b"]) == [("a", "COMPLETED"), ("b", "COMPLETED")]


# -- the plugin guide ------------------------------------------------------------------------

PLUGIN_GUIDE = ROOT / "docs" / "plugins.md"


def _guide_plugin() -> types.ModuleType:
    """The plugin the guide builds: its tested blocks that implement hooks, as one module."""
    module = types.ModuleType("docs_plugin_guide")
    sys.modules[module.__name__] = module  # msgspec resolves annotations in the module
    for block in blocks(PLUGIN_GUIDE):
        if block.lang == "python" and "@hookimpl" in block.text:
            exec(compile(block.text, block.where, "exec"), vars(module))  # noqa: S102 - our docs
    return module


def _guide_workflow() -> tuple[str, dict[str, Any]]:
    """The workflow text and the inputs the guide's test-kit example rehearses."""
    for block in blocks(PLUGIN_GUIDE):
        if block.lang != "python" or "rehearse(" not in block.text:
            continue
        tree = ast.parse(block.text)
        texts = [
            node.value.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["workflow"]
            and isinstance(node.value, ast.Constant)
        ]
        calls = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "rehearse"
        ]
        return str(texts[0]), ast.literal_eval(calls[0].args[1])
    raise AssertionError("docs/plugins.md has no rehearse() example")


async def test_the_plugin_guide_workflow_runs_with_the_guide_plugin(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELLO_BOARD_URL", "https://board.example/greetings")
    plugin = _guide_plugin()
    text, inputs = _guide_workflow()
    try:
        async with doc_engine(settings, plugin) as engine:
            block = Block("docs/plugins.md", 0, "yaml", text, None)
            name = await engine.load(block)
            done = await engine.run(Run(name, inputs))
    finally:
        sys.modules.pop(plugin.__name__, None)
    assert done.status == "COMPLETED"
    assert done.steps == [("greet", "COMPLETED"), ("again", "COMPLETED")]
    assert done.outputs["again"] == '{"greeting": "Hello, Hello, Ada"}'
    # its typed settings reached govflow_startup, whose resources came back to govflow_shutdown
    (board,) = vars(plugin)["closed"]
    assert board.url == "https://board.example/greetings"


def _test_blocks() -> list[Block]:
    return [
        block
        for path in DOCUMENTS
        for block in blocks(path)
        if block.lang == "python" and "def test_" in block.text
    ]


@pytest.mark.parametrize("block", _test_blocks(), ids=_ids(_test_blocks()))
async def test_test_examples_pass(block: Block, request: pytest.FixtureRequest) -> None:
    """The tests the docs show plugin authors pass, with the fixtures they name (the GovFlow
    pytest plugin's)."""
    with example_plugin_importable():
        namespace: dict[str, Any] = {}
        exec(compile(block.text, block.where, "exec"), namespace)  # noqa: S102 - our docs
        tests = [value for key, value in namespace.items() if key.startswith("test_")]
        assert tests
        for test in tests:
            arguments = {
                name: request.getfixturevalue(name) for name in inspect.signature(test).parameters
            }
            result = test(**arguments)
            if inspect.isawaitable(result):
                await result


def test_every_python_example_is_run() -> None:
    """A python block is run by tests/unit/plugins/test_docs.py (``<!-- test -->``) or here."""
    guide = PLUGIN_GUIDE.read_text(encoding="utf-8")
    unrun = [
        block.where
        for block in ALL_BLOCKS
        if block.lang == "python"
        and "def test_" not in block.text
        and not (
            block.doc == "docs/plugins.md" and f"<!-- test -->\n```python\n{block.text}" in guide
        )
    ]
    assert unrun == []


def test_the_entry_point_shown_is_the_example_plugin_s() -> None:
    (shown,) = [block for block in blocks(PLUGIN_GUIDE) if block.lang == "toml"]
    example = tomllib.loads((EXAMPLE_PLUGIN / "pyproject.toml").read_text(encoding="utf-8"))
    documented = tomllib.loads(shown.text)
    assert documented["project"]["entry-points"] == {
        "govflow.plugins": example["project"]["entry-points"]["govflow.plugins"]
    }


# -- the README ------------------------------------------------------------------------------


def _readme_commands() -> list[list[str]]:
    (hello,) = [block for block in blocks(ROOT / "README.md") if block.lang == "yaml"]
    assert hello.next is not None
    lines = [line.split("#")[0].split() for line in hello.next.text.splitlines()]
    return [line for line in lines if line]


def test_the_readme_hello_is_the_shipped_hello() -> None:
    (hello,) = [block for block in blocks(ROOT / "README.md") if block.lang == "yaml"]
    shipped = (ROOT / "workflows.d" / "hello.yaml").read_text(encoding="utf-8")

    def content(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("#")]

    assert content(hello.text) == content(shipped)
    assert hello.text.startswith("# workflows.d/hello.yaml\n")


@pytest.mark.e2e
async def test_the_readme_commands_run_against_a_worker(settings: Settings) -> None:
    """``govflow workflows load`` (as ``govflow up`` does), then the README's two commands as
    typed, the second one waiting on a real ``govflow worker`` process."""
    conn = await asyncpg.connect(str(settings.database_url))
    try:
        await seed_departments(conn)  # the database is migrated; `govflow up` seeds it so
    finally:
        await conn.close()
    env = process_env(settings, GOVFLOW_PLUGINS_MODULES="")

    def govflow(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "govflow", *arguments],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    loaded = await asyncio.to_thread(govflow, "workflows", "load", "workflows.d")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    commands = _readme_commands()
    assert [Path(command[0]).name for command in commands] == ["govflow", "govflow"]
    assert start_arguments(commands[1]) is not None
    with processes(settings, GOVFLOW_PLUGINS_MODULES="") as group:
        group.start("worker")
        results = [await asyncio.to_thread(govflow, *command[1:]) for command in commands]
    for result in results:
        assert result.returncode == 0, result.stdout + result.stderr
    assert "workflows.d/hello.yaml: hello, 1 step" in results[0].stdout
    printed = results[1].stdout.splitlines()
    (execution,) = [line for line in printed if line.startswith("execution ")]
    (greet,) = [line for line in printed if " greet " in line]
    assert execution.split()[-1] == "COMPLETED"  # runs it ...
    assert {"notification", "COMPLETED"} <= set(greet.split())  # ... and prints each step
    assert "Hello, Ada!" in greet


# -- the command lines shown parse -----------------------------------------------------------

PLACEHOLDER_ID = "0190c3a2-7e21-7c6f-8b2e-6f1c4d9a2b10"


def _command_lines() -> list[tuple[str, list[str]]]:
    """Every ``govflow`` command of a ``sh`` or ``console`` block, as its words after
    ``govflow`` (``$ ``, variable assignments and ``.venv/bin/`` dropped; ``6f1c...`` stands for
    an execution id)."""
    found = []
    for block in ALL_BLOCKS:
        if block.lang not in ("sh", "console"):
            continue
        text = re.sub(r"\\\n\s*", " ", block.text)
        for line in text.splitlines():
            if block.lang == "console" and not line.startswith("$ "):
                continue
            words = shlex.split(line.removeprefix("$ "), comments=True)
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                words.pop(0)
            if words and Path(words[0]).name == "govflow":
                arguments = [PLACEHOLDER_ID if w.endswith("...") else w for w in words[1:]]
                found.append((f"{block.where}: {line.strip()}", arguments))
    return found


def _parse(arguments: list[str]) -> click.Command:
    """Parse ``arguments`` as the real ``govflow`` command line does, running nothing."""
    command: click.Command = cli
    while isinstance(command, click.Group):
        name, *arguments = arguments
        found = command.get_command(click.Context(command), name)
        assert found is not None, f"no command {name!r}"
        command = found
    command.make_context(command.name or "", list(arguments))
    return command


@pytest.mark.parametrize(
    ("where", "arguments"), [pytest.param(*line, id=line[0]) for line in _command_lines()]
)
def test_documented_command_line_parses(where: str, arguments: list[str]) -> None:
    _parse(arguments)


def test_the_configuration_error_shown_is_what_govflow_up_prints(tmp_path: Path) -> None:
    """docs/operations.md's malformed-settings example, run: exit code 2, the lines shown."""
    (shown,) = [
        block
        for block in blocks(ROOT / "docs" / "operations.md")
        if block.lang == "console" and "govflow up" in block.text
    ]
    command, *expected = shown.text.splitlines()
    words = shlex.split(command.removeprefix("$ "))
    assignments = dict(word.split("=", 1) for word in words if "=" in word)
    assert words[len(assignments) :] == ["govflow", "up"]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **assignments}
    result = subprocess.run(
        [sys.executable, "-m", "govflow", "up"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == expected


def test_command_line_check_refuses_what_the_cli_refuses() -> None:
    assert len(_command_lines()) >= 8
    with pytest.raises(click.UsageError):
        _parse(["executions", "start", "hello", "--colour", "red"])
    with pytest.raises(AssertionError):
        _parse(["executions", "begin", "hello"])


def _table_commands(path: Path) -> list[tuple[str, list[list[str]]]]:
    """The ``govflow ...`` commands of a document's tables, alternatives (``a|b``) expanded."""
    found = []
    for cell in re.findall(r"\|\s*`govflow ([a-z][^`]*)`", path.read_text()):
        words = [w for w in cell.replace("\\|", "|").split() if not w.startswith(("-", "["))]
        names = [word.split("|") for word in words if re.fullmatch(r"[a-z|-]+", word)]
        found.append((cell, names))
    return found


@pytest.mark.parametrize("path", [ROOT / "README.md", ROOT / "docs" / "operations.md"])
def test_the_command_tables_name_real_commands(path: Path) -> None:
    rows = _table_commands(path)
    assert len(rows) >= 4
    for cell, names in rows:
        command: click.Command = cli
        for alternatives in names:
            assert isinstance(command, click.Group), f"{path.name}: {cell}"
            found = [command.get_command(click.Context(command), name) for name in alternatives]
            assert all(found), f"{path.name}: {cell}: no command among {alternatives}"
            command = found[0]  # type: ignore[assignment]


# -- the operator's commands run -------------------------------------------------------------

OPERATIONS_WORKFLOW = """
name: operations-tour
title: What operators meet
department: general-administration
steps:
  - id: notify
    action: notification
    with: {channel: log, message: "Hello"}
  - id: comment
    action: jira_comment
    with: {issue: PERMIT-42, body: Notified.}
"""


async def _execution_state(engine: DocEngine, execution_id: UUID) -> tuple[str, dict[str, str]]:
    async with engine.services.db.pool.acquire() as conn:
        status = await conn.fetchval("SELECT status FROM executions WHERE id = $1", execution_id)
        steps = await step_rows(conn, execution_id)
    return str(status), {row["step_key"]: row["status"] for row in steps}


async def _started_not_run(engine: DocEngine) -> UUID:
    """An execution started while no worker takes its wake-up: it stays ``PENDING``."""
    engine.queue.held = True
    try:
        started = await engine.services.start_execution(StartRequest(workflow="operations-tour"))
    finally:
        engine.queue.held = False
    return started.execution_id


async def _needing_attention(engine: DocEngine) -> UUID:
    """An execution whose ``notify`` step is where an ``at_most_once`` step lands after its
    worker died mid-attempt (the state ``resolve`` is for; set as test_executions_api.py does)."""
    execution_id = await _started_not_run(engine)
    async with engine.services.db.pool.acquire() as conn:
        await conn.execute(
            "UPDATE execution_steps SET status = 'NEEDS_ATTENTION', attempt = 1, "
            "attempt_started = true WHERE execution_id = $1 AND step_key = 'notify'",
            execution_id,
        )
        await conn.execute(
            "UPDATE executions SET status = 'NEEDS_ATTENTION' WHERE id = $1", execution_id
        )
    return execution_id


@pytest.mark.e2e
async def test_the_operator_commands_shown_run(settings: Settings) -> None:
    """docs/operations.md's ``show``, ``retry``, ``resolve`` and ``cancel`` lines, run as written
    through the CLI on executions in the state each is for, do what the comments say and are
    audited with their reason."""
    shown = [
        arguments
        for where, arguments in _command_lines()
        if where.startswith("docs/operations.md") and PLACEHOLDER_ID in arguments
    ]
    assert [arguments[:2] for arguments in shown] == [
        ["executions", verb] for verb in ("show", "retry", "resolve", "cancel")
    ]
    async with doc_engine(settings) as engine:
        await engine.load(Block("operations", 0, "yaml", OPERATIONS_WORKFLOW, None))
        failed = await engine.run(Run("operations-tour", {}))  # Jira is not configured
        assert (failed.status, failed.steps) == (
            "FAILED",
            [("notify", "COMPLETED"), ("comment", "FAILED")],
        )
        async with engine.services.db.pool.acquire() as conn:
            (comment,) = [r for r in await step_rows(conn, failed.execution_id) if r["error"]]
        assert "Jira is not configured (JIRA_ENABLED=false)" in comment["error"]  # as dsl.md says
        pending = await _started_not_run(engine)
        attention = await _needing_attention(engine)
        targets = {"show": failed.execution_id, "retry": failed.execution_id,
                   "resolve": attention, "cancel": pending}  # fmt: skip
        env = process_env(settings, GOVFLOW_PLUGINS_MODULES="")
        printed = {}
        for arguments in shown:
            target = str(targets[arguments[1]])
            command = [target if word == PLACEHOLDER_ID else word for word in arguments]
            result = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "govflow", *command],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
            printed[arguments[1]] = result.stdout
        retried = await _execution_state(engine, failed.execution_id)
        resolved = await _execution_state(engine, attention)
        canceled = await _execution_state(engine, pending)
        async with engine.services.db.pool.acquire() as conn:
            output = await conn.fetchval(
                "SELECT output::text FROM execution_steps "
                "WHERE execution_id = $1 AND step_key = 'notify'",
                attention,
            )
            reasons = {
                row["action"]: row["reason"]
                for row in await conn.fetch(
                    "SELECT action, reason FROM audit_logs WHERE actor_email IS NULL "
                    "AND reason IS NOT NULL"
                )
            }
    assert "comment" in printed["show"]  # each step's status ...
    assert "FAILED" in printed["show"]
    assert retried == ("RUNNING", {"notify": "COMPLETED", "comment": "PENDING"})
    assert resolved[1] == {"notify": "COMPLETED", "comment": "PENDING"}
    assert output == '{"sent": true}'
    assert canceled == ("CANCELED", {"notify": "CANCELED", "comment": "CANCELED"})
    assert reasons["WORKFLOW_EXECUTION_OPERATOR_RETRY"] == "Jira was down"
    assert reasons["WORKFLOW_EXECUTION_STEP_MARKED_DONE"] == "checked the mail log"
    assert reasons["WORKFLOW_EXECUTION_CANCELED"] == "filed twice"


def _console_pattern(line: str) -> re.Pattern[str]:
    """An output line shown in a document, with its numbers and absolute paths as wildcards."""
    parts = re.split(r"(\d+|/\S+)", line)
    return re.compile(
        "".join(
            r"\d+" if part.isdigit() else r"/\S+" if part.startswith("/") else re.escape(part)
            for part in parts
        )
    )


@pytest.mark.e2e
async def test_the_audit_commands_print_what_operations_md_shows(settings: Settings) -> None:
    """``govflow audit verify`` and ``govflow audit seal`` on a real database print lines of
    the shape shown (the figures and the anchor path are the reader's own)."""
    (shown,) = [
        block
        for block in blocks(ROOT / "docs" / "operations.md")
        if block.lang == "console" and "govflow audit verify" in block.text
    ]
    exchanges: list[tuple[list[str], list[str]]] = []
    for line in shown.text.splitlines():
        if line.startswith("$ "):
            exchanges.append((shlex.split(line.removeprefix("$ "), comments=True), []))
        else:
            exchanges[-1][1].append(line)
    assert [words[:3] for words, _ in exchanges] == [
        ["govflow", "audit", "verify"],
        ["govflow", "audit", "seal"],
    ]
    env = process_env(settings, GOVFLOW_PLUGINS_MODULES="")
    for words, expected in exchanges:
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "govflow", *words[1:]],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        printed = result.stdout.splitlines()
        assert len(printed) == len(expected), printed
        for line, pattern in zip(printed, map(_console_pattern, expected), strict=True):
            assert pattern.fullmatch(line), f"{line!r} is not shaped like {pattern.pattern!r}"


def test_console_patterns_keep_the_words() -> None:
    pattern = _console_pattern("sealed 120 row(s) in 1 seal(s) at /var/x.jsonl")
    assert pattern.fullmatch("sealed 0 row(s) in 0 seal(s) at /tmp/home/a.jsonl")
    assert not pattern.fullmatch("sealed 0 rows in 0 seals at /tmp/a")


# -- what the documents point at exists ------------------------------------------------------

_PATH_REFERENCE = re.compile(
    r"`((?:govflow|tests|migrations|docs|bench|workflows\.d|deploy|plugins|tools)/[^` ]*)`"
)
_MODULE_REFERENCE = re.compile(r"`(govflow(?:\.[a-z_]+)+)`")
WHEEL_ONLY = frozenset({"govflow/_migrations"})
"""Paths that exist in the built wheel, not in the repository."""


def test_the_files_and_tests_the_documents_name_exist() -> None:
    missing = []
    for path in DOCUMENTS:
        for reference in _PATH_REFERENCE.findall(path.read_text(encoding="utf-8")):
            file, _, name = reference.partition("::")
            found = sorted(ROOT.glob(file.rstrip("/")))
            if file in WHEEL_ONLY:
                continue
            if not found or (name and f"def {name}(" not in found[0].read_text()):
                missing.append(f"{path.relative_to(ROOT)}: {reference}")
    assert missing == []


def test_the_modules_and_loggers_the_documents_name_exist() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "govflow").rglob("*.py"))
    missing = []
    for path in DOCUMENTS:
        for name in set(_MODULE_REFERENCE.findall(path.read_text(encoding="utf-8"))):
            parent, _, last = name.rpartition(".")
            try:
                importlib.import_module(name)
                continue
            except ImportError:
                pass
            with contextlib.suppress(ImportError):
                if hasattr(importlib.import_module(parent), last):
                    continue
            if f'getLogger("{name}")' in sources or f'getLogger(f"{parent}.{{' in sources:
                continue  # a logger's name
            missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert missing == []
