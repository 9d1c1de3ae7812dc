"""``govflow executions ...`` and ``govflow recover``: run and operate executions.

An execution is read as the API reads it (the container's execution reader, every department);
``show --json`` prints the API's ``ExecutionView``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from uuid import UUID

import click
import msgspec

from govflow.bootstrap import Container, container
from govflow.bootstrap.actors import CLI_ACTOR, acting_as
from govflow.cli.common import fail, run, settings_or_exit
from govflow.core.statuses import ExecutionStatus
from govflow.usecases.errors import UseCaseError
from govflow.usecases.execution_views import ExecutionView
from govflow.usecases.operate import (
    Resolution,
    cancel_execution,
    resolve_step,
    retry_execution,
)
from govflow.usecases.start_execution import StartRequest


def _parse_inputs(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``k=v`` pairs; a value that is valid JSON (a number, true, a list...) keeps its type."""
    inputs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            fail(f"--input: expected KEY=VALUE, got {pair!r}")
        try:
            inputs[key] = json.loads(raw)
        except json.JSONDecodeError:
            inputs[key] = raw
    return inputs


def _print_detail(detail: ExecutionView) -> None:
    click.echo(
        f"execution {detail.id}  {detail.workflow} v{detail.workflow_version}  {detail.status}"
    )
    if detail.error:
        click.echo(f"  error: {detail.error.get('message')}")
    for step in detail.steps:
        output = json.dumps(step.output, sort_keys=True) if step.output is not None else ""
        click.echo(
            f"  {step.position + 1}. {step.step_key:<20} {step.action:<18} "
            f"{step.status:<16} attempt {step.attempt}  {output}"
        )


async def _detail(services: Container, execution_id: UUID) -> ExecutionView:
    detail = await services.execution_reader.get(execution_id, None)
    if detail is None:
        fail(f"execution {execution_id} not found")
    return detail


@click.group("executions")
def executions() -> None:
    """Start, inspect and operate executions."""


@executions.command("start")
@click.argument("workflow")
@click.option("--input", "-i", "pairs", multiple=True, help="An input as KEY=VALUE (repeatable).")
@click.option("--idempotency-key", default=None, help="The same key returns the same execution.")
@click.option("--wait", is_flag=True, help="Wait until it completes, fails or waits on a human.")
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
    inputs = _parse_inputs(pairs)

    async def go() -> ExecutionView | None:
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
            deadline = time.monotonic() + timeout
            while True:
                detail = await _detail(services, result.execution_id)
                if ExecutionStatus(detail.status) in ExecutionStatus.SETTLED:
                    return detail
                if time.monotonic() > deadline:
                    fail(f"still {detail.status} after {timeout:g}s", code=3)
                await asyncio.sleep(0.1)

    detail = run(go())
    if detail is not None:
        _print_detail(detail)
        if detail.status == ExecutionStatus.FAILED:
            raise SystemExit(1)


@executions.command("show")
@click.argument("execution_id", type=click.UUID)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(execution_id: UUID, as_json: bool) -> None:
    """Show an execution and each step's status and output."""
    settings = settings_or_exit()

    async def go() -> ExecutionView:
        async with container(settings) as services:
            return await _detail(services, execution_id)

    detail = run(go())
    if as_json:
        click.echo(msgspec.json.encode(detail).decode())
    else:
        _print_detail(detail)


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
