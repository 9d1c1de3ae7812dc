"""``govflow tasks ...``: list, read and act on human tasks from the server's command line.

The CLI is an operator's tool on the server, where it needs no password. Reading needs no user:
without ``--as`` every department's tasks are read (as ``executions show`` reads executions).
Acting needs ``--as EMAIL``: the command acts with that user's rights (role, department, the
lifecycle's rules such as four eyes) and is audited as that user, as a call of the API by them
would be. The use cases are the API's (:class:`govflow.usecases.task_views.Tasks`).

A refused action prints one line naming the field (``form.amount: ...``, ``status: ...``) and
exits with status 1, as the other commands do.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import IO, Any, TypeVar
from uuid import UUID

import click
import msgspec

from govflow.bootstrap import Container, container
from govflow.bootstrap.actors import CLI_READER, acting_as, acting_principal, names_of
from govflow.cli.common import fail, parse_pairs, run, settings_or_exit
from govflow.cli.task_output import (
    detail_lines,
    echo_table,
    holder,
    ids_named,
    summary_rows,
)
from govflow.core.statuses import HumanTaskStatus
from govflow.core.tasks.model import (
    Approve,
    Cancel,
    Claim,
    Close,
    Delete,
    Reactivate,
    Reject,
    Release,
    Start,
    Submit,
    TaskAction,
)
from govflow.usecases.department_status import DepartmentInactiveError
from govflow.usecases.errors import InvalidInputError, UseCaseError
from govflow.usecases.paging import MAX_LIMIT, PageRequest
from govflow.usecases.principal import Principal
from govflow.usecases.task_ports import TaskFilter
from govflow.usecases.task_views import Tasks, TaskView

T = TypeVar("T")

_OPTIONS = {"body.user_id": "--to", "body.reason": "--reason", "body.comment": "--comment"}
"""The option a request field is given in on the command line, where the names differ."""


def _field(name: str) -> str:
    return _OPTIONS.get(name, name.removeprefix("body."))


def refusal_line(exc: UseCaseError) -> str:
    """A use case's refusal as one line naming the field: ``form.amount: value must be ...``."""
    if isinstance(exc, DepartmentInactiveError):
        return "--as: the user's department is inactive"
    if isinstance(exc, InvalidInputError):
        return "; ".join(f"{_field(field)}: {message}" for field, message in exc.problems)
    problems = getattr(exc, "problems", None)
    if problems:
        field, code = problems[0]
        return f"{_field(field)}: {exc} ({code})"
    return str(exc)


def parse_form(pairs: tuple[str, ...], source: IO[str] | None) -> dict[str, Any]:
    """The form's values: a JSON object from ``--form-json``, then each ``--form KEY=VALUE``
    (a value that is valid JSON keeps its type, anything else is a string)."""
    form: dict[str, Any] = {}
    if source is not None:
        try:
            loaded = json.load(source)
        except json.JSONDecodeError as exc:
            fail(f"--form-json: not JSON ({exc.msg}, line {exc.lineno})")
        if not isinstance(loaded, dict):
            fail("--form-json: must be a JSON object")
        form.update(loaded)
    form.update(parse_pairs(pairs, "--form"))
    return form


def _tasks(services: Container) -> Tasks:
    return Tasks(services.tasks, services.queue)


def _with_tasks(as_email: str | None, body: Callable[[Container, Principal], Awaitable[T]]) -> T:
    """Run ``body`` with the container and the principal ``--as`` names (the CLI's reader
    without it); a refusal is one line and exit status 1."""
    settings = settings_or_exit()

    async def go() -> T:
        async with container(settings) as services:
            try:
                principal = (
                    CLI_READER if as_email is None else await acting_principal(services, as_email)
                )
                return await body(services, principal)
            except UseCaseError as exc:
                fail(refusal_line(exc))

    return run(go())


def _echo_json(value: Any) -> None:
    click.echo(msgspec.json.encode(value).decode())


as_option = click.option(
    "--as",
    "as_email",
    default=None,
    metavar="EMAIL",
    help="Read as this (active) user: its department only.",
)
acting_option = click.option(
    "--as",
    "as_email",
    required=True,
    metavar="EMAIL",
    help="Act as this (active) user, with its rights; audited as that user.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group("tasks")
def tasks() -> None:
    """List, read and act on human tasks (``--as EMAIL`` acts as that user)."""


@tasks.command("list")
@click.option("--mine", is_flag=True, help="Only the tasks assigned to the --as user.")
@click.option(
    "--eligible",
    is_flag=True,
    help="Only tasks the --as user may claim or review (acts on next, not as the assignee).",
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([status.value for status in HumanTaskStatus.LISTED]),
    help="Only tasks in this status (repeatable: any of them).",
)
@click.option(
    "--execution", "execution_id", type=click.UUID, default=None, help="Only this execution's."
)
@click.option(
    "--workflow", default=None, metavar="NAME|ID", help="Only the tasks of this workflow's runs."
)
@click.option("--overdue", is_flag=True, help="Only tasks still to be decided past their due date.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@as_option
@json_option
def list_tasks(
    mine: bool,
    eligible: bool,
    statuses: tuple[str, ...],
    execution_id: UUID | None,
    workflow: str | None,
    overdue: bool,
    limit: int,
    as_email: str | None,
    as_json: bool,
) -> None:
    """List tasks, newest first (every department's without --as)."""
    if (mine or eligible) and as_email is None:
        fail(f"{'--mine' if mine else '--eligible'}: needs --as EMAIL (whose tasks)")

    async def body(services: Container, principal: Principal) -> tuple[list[TaskView], Any]:
        workflow_id = None
        if workflow is not None:
            current = await services.catalog.current(workflow, None)
            if current is None:
                raise InvalidInputError([("--workflow", f"no workflow {workflow!r}")])
            workflow_id = current.workflow_id
        wanted = TaskFilter(
            assigned_to_me=mine,
            eligible_for_me=eligible,
            statuses=tuple(HumanTaskStatus(status) for status in statuses),
            execution_id=execution_id,
            workflow_id=workflow_id,
            overdue=True if overdue else None,
        )
        found: list[TaskView] = []
        page = PageRequest(1, min(limit, MAX_LIMIT))
        while len(found) < limit:
            listed = await _tasks(services).search(principal, wanted, page)
            found.extend(listed.items)
            if page.page >= listed.total_pages:
                break
            page = PageRequest(page.page + 1, page.limit)
        found = found[:limit]
        return found, await names_of(services, ids_named(found))

    found, names = _with_tasks(as_email, body)
    if as_json:
        _echo_json(found)
    elif found:
        echo_table(summary_rows(found, names))
    else:
        click.echo("no tasks")


@tasks.command("show")
@click.argument("task_id", type=click.UUID)
@as_option
@json_option
def show(task_id: UUID, as_email: str | None, as_json: bool) -> None:
    """Show a task: who holds it, its form fields, its submission and its records."""

    async def body(services: Container, principal: Principal) -> tuple[TaskView, Any, Any]:
        task = await _tasks(services).get(principal, task_id)
        records = await _tasks(services).records(principal, task_id)
        return task, records, await names_of(services, ids_named([task], records))

    task, records, names = _with_tasks(as_email, body)
    if as_json:
        _echo_json({"task": task, "records": records})
        return
    for line in detail_lines(task, records, names):
        click.echo(line)


def _acted(
    task_id: UUID,
    as_email: str,
    as_json: bool,
    act: Callable[[Container, Tasks, Principal], Awaitable[TaskView]],
) -> None:
    """Carry out one action and print where the task stands."""

    async def body(services: Container, principal: Principal) -> tuple[TaskView, Any]:
        done = await act(services, _tasks(services), principal)
        return done, await names_of(services, ids_named([done]))

    done, names = _with_tasks(as_email, body)
    if as_json:
        _echo_json(done)
        return
    decided = f" ({done.decision})" if done.decision else ""
    click.echo(f"task {done.id} is {done.status}{decided}; {holder(done, names)}")
    if done.execution_id is not None and done.status == HumanTaskStatus.CLOSED:
        click.echo(f"its execution goes on: govflow executions wait {done.execution_id}")


def _action_command(
    name: str, doc: str, make: Callable[..., TaskAction], *options: Callable[[Any], Any]
) -> None:
    """``govflow tasks NAME TASK_ID --as EMAIL [options]``: one lifecycle action."""

    def command(task_id: UUID, as_email: str, as_json: bool, **given: Any) -> None:
        action = make(**given)

        async def act(services: Container, cases: Tasks, principal: Principal) -> TaskView:
            return await cases.act(principal, task_id, action)

        _acted(task_id, as_email, as_json, act)

    command.__doc__ = doc
    decorated: Any = command
    for option in reversed(options):
        decorated = option(decorated)
    decorated = acting_option(click.argument("task_id", type=click.UUID)(json_option(decorated)))
    tasks.command(name)(decorated)


def _submit(form: tuple[str, ...], form_json: IO[str] | None, comment: str) -> Submit:
    return Submit(form=parse_form(form, form_json), comment=comment)


_action_command("claim", "Take an open task offered to the user's role or department.", Claim)
_action_command(
    "release",
    "Give the task back to its offer (its assignee, or a manager).",
    Release,
    click.option("--reason", default="", help="Why; recorded in the audit log."),
)
_action_command("start", "Start (or, after a rejection, restart) the work.", Start)
_action_command(
    "submit",
    "Submit the task's form (checked against its fields; every problem names its field).",
    _submit,
    click.option(
        "--form",
        "form",
        multiple=True,
        metavar="KEY=VALUE",
        help="A form value (repeatable); JSON if it parses (12, true, [1]), else text.",
    ),
    click.option(
        "--form-json",
        type=click.File("r"),
        default=None,
        metavar="FILE|-",
        help="The form's values as a JSON object (- reads stdin); --form adds to it.",
    ),
    click.option("--comment", default="", help="A note recorded with the submission."),
)
_action_command(
    "approve",
    "Approve the submission (a reviewer; never its submitter).",
    Approve,
    click.option("--comment", default="", help="Recorded with the approval."),
)
_action_command(
    "reject",
    "Send the submission back (or fail the step, under on_reject: fail).",
    Reject,
    click.option("--reason", required=True, help="Why; the assignee sees it."),
)

_action_command(
    "close",
    "End a decided standalone task (a step's task closes by itself).",
    Close,
    click.option("--reason", default="", help="Why; recorded in the audit log."),
)
_action_command(
    "cancel",
    "Call a standalone task off (a step's task is canceled with its execution).",
    Cancel,
    click.option("--reason", default="", help="Why; recorded in the audit log."),
)
_action_command(
    "reactivate",
    "Open a canceled standalone task again, to its offer.",
    Reactivate,
    click.option("--reason", default="", help="Why; recorded in the audit log."),
)
_action_command(
    "delete",
    "Soft-delete a task that is over: kept and audited, hidden from lists.",
    Delete,
    click.option("--reason", default="", help="Why; recorded in the audit log."),
)


def _hand_over(name: str, doc: str, *, delegate: bool) -> None:
    """``govflow tasks NAME TASK_ID --to EMAIL --as EMAIL``: assign or delegate."""

    def command(task_id: UUID, to_email: str, reason: str, as_email: str, as_json: bool) -> None:
        async def act(services: Container, cases: Tasks, principal: Principal) -> TaskView:
            target = await acting_as(services, to_email, "--to")
            assert target.user_id is not None  # a user, since an email was given
            return await cases.hand_over(
                principal, task_id, target.user_id, reason, delegate=delegate
            )

        _acted(task_id, as_email, as_json, act)

    command.__doc__ = doc
    decorated: Any = command
    for option in (
        json_option,
        click.option("--reason", default="", help="Why; recorded in the audit log."),
        click.option("--to", "to_email", required=True, metavar="EMAIL", help="Who gets it."),
        acting_option,
        click.argument("task_id", type=click.UUID),
    ):
        decorated = option(decorated)
    tasks.command(name)(decorated)


_hand_over("assign", "Give the task to one eligible user (a manager; a reassign).", delegate=False)
_hand_over("delegate", "Hand the task to another eligible user (its assignee).", delegate=True)


@tasks.command("comment")
@click.argument("task_id", type=click.UUID)
@click.argument("text")
@acting_option
def comment(task_id: UUID, text: str, as_email: str) -> None:
    """Leave a comment on a task (anyone who may see it); it changes nothing."""
    if not text.strip():
        fail("text: must not be empty")

    async def body(services: Container, principal: Principal) -> str:
        record = await _tasks(services).comment(principal, task_id, text)
        return record.action

    click.echo(f"task {task_id}: {_with_tasks(as_email, body)} recorded")


commands = [tasks]
