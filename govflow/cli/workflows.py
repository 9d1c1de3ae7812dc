"""``govflow workflows``: validate, load and list workflow definitions; print the DSL schema.

:func:`load_workflows` is also what ``govflow up`` runs after migrating and seeding.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NoReturn

import click
import msgspec

from govflow.bootstrap import container
from govflow.bootstrap.database import DepartmentsUnreadable, known_directory
from govflow.bootstrap.fleet import load_warnings
from govflow.cli.common import fail, run, settings_or_exit
from govflow.cli.workflow_files import TemplateFiles, discover
from govflow.core.schema import generate_schema
from govflow.core.spec_errors import SpecError, SpecProblem
from govflow.core.yaml_source import ROOT
from govflow.plugins import PluginError, PluginManager
from govflow.settings import Settings
from govflow.usecases.paging import MAX_LIMIT, PageRequest
from govflow.usecases.ports_workflows import SaveResult, WorkflowStoreError
from govflow.usecases.workflow_views import WorkflowFilter, WorkflowView
from govflow.usecases.workflows import (
    SourceFile,
    ValidWorkflow,
    load_workflow_files,
    unknown_departments,
    unknown_users,
    validate_workflow_files,
)

HASH_PREFIX = 12


def action_inputs() -> dict[str, type[msgspec.Struct]]:
    """Every installed action's input Struct (``GOVFLOW_PLUGINS_*`` honoured)."""
    try:
        return PluginManager.from_env(os.environ).actions().inputs()
    except PluginError as exc:
        raise click.ClickException(str(exc)) from exc


def workflow_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; directories give their ``*.yaml``/``*.yml`` files, sorted; each once."""
    return list(discover(paths))


def read_files(paths: Sequence[Path]) -> tuple[list[SourceFile], list[SpecProblem]]:
    """The files' texts, and a problem for each file that cannot be read as UTF-8 text."""
    files, problems = [], []
    for path in paths:
        try:
            files.append(SourceFile(str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            message = f"cannot read the file: {getattr(exc, 'strerror', None) or exc}"
            problems.append(SpecProblem(file=str(path), line=1, col=1, path=ROOT, message=message))
    return files, problems


def _report(problems: Sequence[SpecProblem], what: str) -> NoReturn:
    for problem in SpecError(problems).problems:
        click.echo(problem.format())
    files = len({problem.file for problem in problems})
    fail(f"{len(problems)} problem(s) in {files} file(s); {what}")


def _read_or_exit(paths: Sequence[Path], what: str) -> list[SourceFile]:
    files, problems = read_files(paths)
    if problems:
        _report(problems, what)
    return files


def _read_paths(paths: Sequence[Path], what: str) -> tuple[list[SourceFile], TemplateFiles]:
    """The workflow files of ``paths`` (files and folders in any mix) and the reader of the step
    templates they use; exits on a file that cannot be read."""
    roots = discover(paths)
    files = _read_or_exit(list(roots), what)
    return files, TemplateFiles({str(path): root for path, root in roots.items()})


async def load_workflows(settings: Settings, directory: Path, *, quiet: bool) -> list[SaveResult]:
    """Load every workflow file of ``directory`` into the database, all or nothing.

    A missing directory loads nothing (see :func:`load_workflow_paths` for the rest).
    """
    if not await asyncio.to_thread(directory.is_dir):
        if not quiet:
            click.echo(f"workflows: no directory {directory}; nothing loaded")
        return []
    return await load_workflow_paths(settings, [directory], quiet=quiet)


async def load_workflow_paths(
    settings: Settings, paths: Sequence[Path], *, quiet: bool
) -> list[SaveResult]:
    """Load the workflow files of ``paths`` (files and folders in any mix) into the database,
    all or nothing.

    On an invalid file, every problem is printed and the process exits with status 1 having
    loaded nothing.

    :param quiet: print nothing when everything went well.
    """
    files, templates = await asyncio.to_thread(_read_paths, paths, "nothing was loaded")
    actions = action_inputs()
    async with container(settings) as c:
        async with c.workflows.definitions() as store:
            try:
                results = await load_workflow_files(files, actions, store, templates=templates)
            except SpecError as error:
                _report(error.problems, "nothing was loaded")
            except WorkflowStoreError as error:
                fail(f"{error}; nothing was loaded")
        warnings: list[str] = []
        if not quiet:  # `govflow up` loads before it starts its workers
            specs = [await c.specs.spec(result.version_id) for result in results]
            used = sorted({step.action for spec in specs for step in spec.steps})
            warnings = await load_warnings(c, used)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if not quiet:
        for result in results:
            click.echo(
                f"workflow {result.name}: {result.describe()}"
                f" (version {result.version_number}, {result.content_hash[:HASH_PREFIX]})"
            )
    return results


@click.group("workflows")
def command() -> None:
    """Validate, load and list workflow definitions (workflows.d/*.yaml)."""


SKIPPED = "govflow: departments and assignees (users by email) not checked"


def _check_directory(valid: Sequence[ValidWorkflow]) -> None:
    """Refuse departments the configured database lacks and users (by email) it has no active
    user for; say so on one line when it cannot be asked."""
    emails = [email for item in valid for _, email in item.users]
    try:
        known = asyncio.run(known_directory(settings_or_exit(), emails))
    except DepartmentsUnreadable as exc:
        click.echo(f"{SKIPPED}: cannot read the database: {exc}", err=True)
        return
    if known is None:
        click.echo(f"{SKIPPED}: DATABASE_URL is not set", err=True)
        return
    codes, active = known
    problems = unknown_departments(valid, codes) + unknown_users(valid, active)
    if problems:
        _report(problems, "nothing is valid until they are fixed")


@command.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--offline",
    is_flag=True,
    help="Do not check the departments and users named against the database.",
)
def validate(paths: tuple[Path, ...], offline: bool) -> None:
    """Check workflow files and directories of them (in any mix) against the installed actions
    and, when DATABASE_URL names a database that answers, the departments and users (by email)
    they name against it; one line on stderr says when those were not checked.

    Prints every problem as ``file:line:col: path: message`` and exits 1, or one line per
    workflow: its name, step count and version hash.
    """
    files, templates = _read_paths(paths, "nothing is valid until they are fixed")
    if not files:
        fail("no workflow files (*.yaml, *.yml) found")
    try:
        valid = validate_workflow_files(files, action_inputs(), templates)
    except SpecError as error:
        _report(error.problems, "nothing is valid until they are fixed")
    if offline:
        click.echo(f"{SKIPPED}: --offline", err=True)
    else:
        _check_directory(valid)
    for item in valid:
        steps = len(item.spec.steps)
        click.echo(
            f"{item.file.path}: {item.spec.name}, {steps} step{'s' * (steps != 1)}, "
            f"version {item.content_hash[:HASH_PREFIX]}"
        )


def schema_text(actions: dict[str, type[msgspec.Struct]]) -> str:
    """The DSL's JSON Schema as published (two-space indent, trailing newline)."""
    return json.dumps(generate_schema(actions), indent=2, ensure_ascii=False) + "\n"


@command.command("schema")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the schema to this file instead of printing it.",
)
def schema(output: Path | None) -> None:
    """Print the JSON Schema of workflow files, with every installed action's ``with:``."""
    text = schema_text(action_inputs())
    if output is None:
        click.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}")


@command.command("load")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def load(paths: tuple[Path, ...]) -> None:
    """Load workflow files and directories of them, in any mix (default: WORKFLOWS_DIR), all
    or nothing.

    Unchanged workflows are left alone; changed ones get a new version.
    """
    settings = settings_or_exit()
    if not paths:
        run(load_workflows(settings, settings.workflows_dir, quiet=False))
        return
    if not workflow_paths(paths):
        fail("no workflow files (*.yaml, *.yml) found; nothing was loaded")
    run(load_workflow_paths(settings, paths, quiet=False))


async def _list(settings: Settings) -> list[WorkflowView]:
    """Every workflow, read page by page as the API lists them (every department)."""
    found: list[WorkflowView] = []
    async with container(settings) as c:
        page = PageRequest(1, MAX_LIMIT)
        while True:
            listed = await c.workflows.search(WorkflowFilter(), page, None)
            found.extend(listed.items)
            if page.page >= listed.total_pages:
                return found
            page = PageRequest(page.page + 1, MAX_LIMIT)


@command.command("list")
def list_workflows() -> None:
    """List the loaded workflows: name, current version, department, active."""
    rows = [("NAME", "VERSION", "DEPARTMENT", "ACTIVE")]
    for item in run(_list(settings_or_exit())):
        version = str(item.current_version) if item.current_version is not None else "-"
        active = "yes" if item.is_active else "no"
        rows.append((item.name, version, item.department or "-", active))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
