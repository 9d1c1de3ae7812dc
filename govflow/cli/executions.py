"""``govflow executions ...`` and ``govflow recover``: run, follow and operate executions.

An execution is read as the API reads it (the container's execution reader, every department);
``show --json`` prints the API's ``ExecutionView`` and ``list`` goes through the API's list use
case (``ExecutionAdmin.search``). ``start --wait`` and ``wait`` print each step's status as it
changes and return when the execution settles: it ended, it needs an operator, or it waits on a
human task, whose id and holder they print with the command that continues it.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, NamedTuple
from uuid import UUID

import click
import msgspec

from govflow.bootstrap import Container, container
from govflow.bootstrap.actors import CLI_ACTOR, CLI_READER, acting_as, acting_principal, names_of
from govflow.bootstrap.fleet import fire_timer_now
from govflow.cli.common import fail, parse_pairs, run, settings_or_exit
from govflow.cli.task_output import Names, echo_table, holder, ids_named, open_task_lines, when
from govflow.cli.tasks import refusal_line
from govflow.core.statuses import ExecutionStatus, HumanTaskStatus, StepStatus
from govflow.usecases.errors import UseCaseError
from govflow.usecases.execution_views import (
    ExecutionFilter,
    ExecutionSummary,
    ExecutionView,
    StepView,
)
from govflow.usecases.operate import (
    Resolution,
    cancel_execution,
    resolve_step,
    retry_execution,
)
from govflow.usecases.paging import MAX_LIMIT, PageRequest
from govflow.usecases.start_execution import StartRequest
from govflow.usecases.task_ports import TaskFilter
from govflow.usecases.task_views import Tasks, TaskView


class Shown(NamedTuple):
    """An execution as read, the task each of its WAITING steps waits on, the names to print."""

    detail: ExecutionView
    tasks: dict[UUID, TaskView]
    names: Names


async def _detail(services: Container, execution_id: UUID) -> ExecutionView:
    detail = await services.execution_reader.get(execution_id, None)
    if detail is None:
        fail(f"execution {execution_id} not found")
    return detail


async def _shown(services: Container, execution_id: UUID) -> Shown:
    """The execution, read as the API reads it, with the open task of each WAITING step."""
    detail = await _detail(services, execution_id)
    waiting = {step.id for step in detail.steps if step.status == StepStatus.WAITING}
    tasks: dict[UUID, TaskView] = {}
    if waiting:
        listed = await Tasks(services.tasks, services.queue).search(
            CLI_READER, TaskFilter(execution_id=execution_id), PageRequest(1, MAX_LIMIT)
        )
        for task in listed.items:  # newest first
            if task.step_id in waiting and task.status in HumanTaskStatus.ACTIVE:
                tasks.setdefault(task.step_id, task)
    return Shown(detail, tasks, await names_of(services, ids_named(tasks.values())))


def _print_detail(shown: Shown) -> None:
    detail = shown.detail
    click.echo(
        f"execution {detail.id}  {detail.workflow} v{detail.workflow_version}  {detail.status}"
    )
    if detail.error:
        click.echo(f"  error: {detail.error.get('message')}")
    if detail.outputs is not None:
        click.echo(f"  outputs: {json.dumps(detail.outputs, sort_keys=True)}")
    for step in detail.steps:
        output = json.dumps(step.output, sort_keys=True) if step.output is not None else ""
        click.echo(
            f"  {step.position + 1}. {step.step_key:<20} {step.action:<18} "
            f"{step.status:<16} attempt {step.attempt}  {output}".rstrip()
        )
        for line in _step_notes(step):
            click.echo(f"       {line}")
        task = shown.tasks.get(step.id)
        if task is not None:
            for line in open_task_lines(task, shown.names):
                click.echo(f"       {line}")


def _step_notes(step: StepView) -> list[str]:
    """A step's last error (with the action's details), its last reported progress and the due
    time of its timer while it waits on one."""
    notes = []
    if isinstance(step.error, dict):
        line = f"error: {step.error.get('code')}: {step.error.get('message')}"
        if step.error.get("details"):
            line += f"  details: {json.dumps(step.error['details'], sort_keys=True)}"
        notes.append(line)
    if step.progress is not None:
        notes.append(f"progress: {json.dumps(step.progress, sort_keys=True)}")
    if step.status == StepStatus.WAITING and step.due_at is not None:
        notes.append(f"timer due: {step.due_at.isoformat()}")
    return notes


def _change(step: StepView, shown: Shown) -> str:
    """One step's new status, as ``--wait`` prints it."""
    line = f"step {step.step_key}: {step.status}"
    task = shown.tasks.get(step.id)
    if task is not None:
        return f"{line}, waiting for task {task.id} ({holder(task, shown.names)})"
    if step.status == StepStatus.WAITING and step.due_at is not None:
        return f"{line}, timer due {step.due_at.isoformat()}"
    if step.status == StepStatus.FAILED and isinstance(step.error, dict):
        return f"{line} ({step.error.get('message')})"
    if step.status == StepStatus.RUNNING and step.attempt > 1:
        return f"{line} (attempt {step.attempt})"
    return line


async def _follow(services: Container, execution_id: UUID, timeout: float) -> Shown:
    """Print each step's status as it changes until the execution settles: it ends, waits on a
    human task, or needs an operator. Exits with status 3 after ``timeout`` seconds."""
    seen: dict[UUID, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        shown = await _shown(services, execution_id)
        for step in shown.detail.steps:
            if step.status != seen.get(step.id, StepStatus.PENDING):
                click.echo(_change(step, shown))
            seen[step.id] = step.status
        if ExecutionStatus(shown.detail.status) in ExecutionStatus.SETTLED:
            return shown
        if time.monotonic() > deadline:
            fail(f"still {shown.detail.status} after {timeout:g}s", code=3)
        await asyncio.sleep(0.1)


def _settled(shown: Shown) -> None:
    """Print where a followed execution settled and which command continues it; exit status 1
    when it failed."""
    _print_detail(shown)
    detail = shown.detail
    for task in shown.tasks.values():
        click.echo(
            f"continue: act on task {task.id} with `govflow tasks show|claim|start|submit|"
            f"approve {task.id} --as EMAIL`, then follow it with "
            f"`govflow executions wait {detail.id}`"
        )
    for step in detail.steps:
        if step.status == StepStatus.WAITING and step.due_at is not None:
            click.echo(
                f"continue: the scheduler resumes step {step.step_key} once its timer is due "
                f"({step.due_at.isoformat()}), or an operator ends it now with "
                f"`govflow executions fire-timer {detail.id} {step.step_key} --reason ...`; "
                f"follow it with `govflow executions wait {detail.id}`"
            )
    if detail.status == ExecutionStatus.NEEDS_ATTENTION:
        click.echo(
            f"continue: an operator resolves it with "
            f"`govflow executions resolve {detail.id} STEP --action ... --reason ...`"
        )
    if detail.status == ExecutionStatus.FAILED:
        raise SystemExit(1)


@click.group("executions")
def executions() -> None:
    """Start, list, follow, inspect and operate executions."""


@executions.command("start")
@click.argument("workflow")
@click.option("--input", "-i", "pairs", multiple=True, help="An input as KEY=VALUE (repeatable).")
@click.option("--idempotency-key", default=None, help="The same key returns the same execution.")
@click.option(
    "--wait",
    is_flag=True,
    help="Print each step's status as it changes until the execution ends, waits on a human "
    "task or needs an operator.",
)
@click.option("--timeout", default=300.0, show_default=True, help="Seconds --wait waits at most.")
@click.option(
    "--as",
    "as_email",
    default=None,
    metavar="EMAIL",
    help="Start it on behalf of this (active) user, recorded as created_by; default: no user.",
)
def start(
    workflow: str,
    pairs: tuple[str, ...],
    idempotency_key: str | None,
    wait: bool,
    timeout: float,
    as_email: str | None,
) -> None:
    """Start WORKFLOW (by name or id) with the given inputs.

    The execution's ``created_by`` is the user named by ``--as`` (its department must be
    active); without it, no user (the CLI), and the idempotency key is the CLI's.
    """
    settings = settings_or_exit()
    inputs = parse_pairs(pairs, "--input")

    async def go() -> Shown | None:
        async with container(settings) as services:
            try:
                result = await services.start_execution(
                    StartRequest(
                        workflow=workflow,
                        inputs=inputs,
                        idempotency_key=idempotency_key,
                        actor=await acting_as(services, as_email),
                    )
                )
            except UseCaseError as exc:
                fail(str(exc))
            click.echo(
                f"{'started' if result.created else 'already started'} "
                f"execution {result.execution_id}"
            )
            if not wait:
                return None
            return await _follow(services, result.execution_id, timeout)

    shown = run(go())
    if shown is not None:
        _settled(shown)


@executions.command("wait")
@click.argument("execution_id", type=click.UUID)
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait at most.")
def wait_for(execution_id: UUID, timeout: float) -> None:
    """Follow an execution as ``start --wait`` does: each step's status as it changes, until
    it ends, waits on a human task or needs an operator (at once if it does already).

    Exit status 1 when it failed, 3 when ``--timeout`` passed first.
    """
    settings = settings_or_exit()

    async def go() -> Shown:
        async with container(settings) as services:
            return await _follow(services, execution_id, timeout)

    _settled(run(go()))


@executions.command("show")
@click.argument("execution_id", type=click.UUID)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the API's execution view).")
def show(execution_id: UUID, as_json: bool) -> None:
    """Show an execution and each step's status and output; under a WAITING step, the task it
    waits on (id, title, who holds it, due date, form fields)."""
    settings = settings_or_exit()

    async def go() -> Shown:
        async with container(settings) as services:
            return await _shown(services, execution_id)

    shown = run(go())
    if as_json:
        click.echo(msgspec.json.encode(shown.detail).decode())
    else:
        _print_detail(shown)


def _reference(workflow: str) -> tuple[UUID | None, str | None]:
    """A workflow named by id (a UUID) or by name."""
    try:
        return UUID(workflow), None
    except ValueError:
        return None, workflow


@executions.command("list")
@click.option("--workflow", default=None, metavar="NAME|ID", help="Only this workflow's.")
@click.option(
    "--status",
    type=click.Choice([status.value for status in ExecutionStatus]),
    default=None,
    help="Only executions in this status.",
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--as",
    "as_email",
    default=None,
    metavar="EMAIL",
    help="List what this (active) user may read: its department's (an OPERATOR's own).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the API's list items).")
def list_executions(
    workflow: str | None, status: str | None, limit: int, as_email: str | None, as_json: bool
) -> None:
    """List executions, newest first (every department's without --as), as the API lists them."""
    settings = settings_or_exit()
    workflow_id, workflow_name = _reference(workflow) if workflow else (None, None)
    where = ExecutionFilter(
        status=ExecutionStatus(status) if status else None,
        workflow_id=workflow_id,
        workflow=workflow_name,
    )

    async def go() -> tuple[list[ExecutionSummary], Names]:
        async with container(settings) as services:
            try:
                principal = (
                    CLI_READER if as_email is None else await acting_principal(services, as_email)
                )
            except UseCaseError as exc:
                fail(refusal_line(exc))
            cases = services.execution_admin()
            found: list[ExecutionSummary] = []
            page = PageRequest(1, min(limit, MAX_LIMIT))
            while len(found) < limit:
                listed = await cases.search(principal, where, page)
                found.extend(listed.items)
                if page.page >= listed.total_pages:
                    break
                page = PageRequest(page.page + 1, page.limit)
            found = found[:limit]
            return found, await names_of(services, {item.created_by for item in found})

    found, names = run(go())
    if as_json:
        click.echo(msgspec.json.encode(found).decode())
        return
    if not found:
        click.echo("no executions")
        return
    rows: list[tuple[str, ...]] = [("ID", "WORKFLOW", "STATUS", "CREATED", "CREATED BY")]
    for item in found:
        by = "-" if item.created_by is None else names.get(item.created_by, str(item.created_by))
        rows.append(
            (
                str(item.id),
                f"{item.workflow} v{item.workflow_version}",
                item.status,
                when(item.created_at),
                by,
            )
        )
    echo_table(rows)


def _operate(coro_factory: Any) -> None:
    settings = settings_or_exit()

    async def go() -> str:
        async with container(settings) as services:
            try:
                result = await coro_factory(services)
            except UseCaseError as exc:
                fail(str(exc))
            return str(result.execution_status)

    click.echo(f"execution is now {run(go())}")


@executions.command("cancel")
@click.argument("execution_id", type=click.UUID)
@click.option("--reason", required=True, help="Why; recorded in the audit log.")
def cancel(execution_id: UUID, reason: str) -> None:
    """Cancel an execution that has not ended."""
    _operate(lambda s: cancel_execution(s.control, execution_id, actor=CLI_ACTOR, reason=reason))


@executions.command("retry")
@click.argument("execution_id", type=click.UUID)
@click.option("--reason", required=True, help="Why; recorded in the audit log.")
def retry(execution_id: UUID, reason: str) -> None:
    """Run a FAILED execution again from its failed step."""
    _operate(
        lambda s: retry_execution(s.control, s.queue, execution_id, actor=CLI_ACTOR, reason=reason)
    )


@executions.command("resolve")
@click.argument("execution_id", type=click.UUID)
@click.argument("step")
@click.option(
    "--action",
    "resolution",
    type=click.Choice([r.value for r in Resolution]),
    required=True,
    help="Run the step again, skip it, or mark it done with --output.",
)
@click.option("--output", default=None, help="With mark_done: the step's output as JSON.")
@click.option("--reason", required=True, help="Why; recorded in the audit log.")
def resolve(
    execution_id: UUID, step: str, resolution: str, output: str | None, reason: str
) -> None:
    """Resolve a STEP that needs attention."""
    try:
        parsed = json.loads(output) if output else None
    except json.JSONDecodeError as exc:
        fail(f"--output: not JSON ({exc.msg})")
    if parsed is not None and not isinstance(parsed, dict):
        fail("--output: must be a JSON object")
    _operate(
        lambda s: resolve_step(
            s.control,
            s.queue,
            execution_id,
            step,
            Resolution(resolution),
            actor=CLI_ACTOR,
            reason=reason,
            output=parsed,
        )
    )


@executions.command("fire-timer")
@click.argument("execution_id", type=click.UUID)
@click.argument("step")
@click.option("--reason", required=True, help="Why; recorded in the audit log.")
def fire_timer(execution_id: UUID, step: str, reason: str) -> None:
    """End the waiting timer of STEP (a `wait` step) now, before its due time."""
    _operate(lambda s: fire_timer_now(s, CLI_ACTOR, execution_id, step, reason))


@click.command("recover")
def recover() -> None:
    """Recover expired leases and re-send lost wake-ups once (what the scheduler does)."""
    settings = settings_or_exit()

    async def go() -> str:
        async with container(settings) as services:
            report = await services.sweeper().sweep_once()
            return ", ".join(f"{k} {v}" for k, v in msgspec.structs.asdict(report).items())

    click.echo(run(go()))


commands = [executions, recover]
