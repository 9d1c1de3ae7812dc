"""``govflow tasks create`` and ``govflow tasks edit``: open a standalone task and edit one's
title, description and deadline, as ``POST /tasks`` and ``PATCH /tasks/{id}`` do.

The options are gathered into the API's request body (people by email and departments by code
are looked up to their ids first) and decoded with the API's own schema
(``TaskCreateIn``, ``TaskUpdateIn`` of :mod:`govflow.http.tasks.schemas`),
then carried out by the API's use cases: the same checks, and a refusal is one line naming the
same field (``notify[0].url: the webhook channel needs `url```) with exit status 1.
"""

from __future__ import annotations

import json
import re
from typing import IO, Any, TypeVar
from uuid import UUID

import click
import msgspec

from govflow.bootstrap import Container
from govflow.bootstrap.actors import acting_as, department_named, names_of
from govflow.cli.common import fail
from govflow.cli.task_output import holder, ids_named
from govflow.cli.tasks import _echo_json, _tasks, _with_tasks, acting_option, json_option, tasks
from govflow.core.roles import Role
from govflow.core.tasks.model import OnReject
from govflow.http.tasks.schemas import TaskCreateIn, TaskUpdateIn
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.principal import Principal
from govflow.usecases.task_views import TaskView

S = TypeVar("S", bound=msgspec.Struct)

_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_NAMED = re.compile(r"(?:missing required|unknown) field `([^`]+)`")


def decoded(body: dict[str, Any], schema: type[S]) -> S:
    """``body`` decoded as the API decodes a request's; a problem names the body's field.

    :raises InvalidInputError: naming ``body.<field>``, as the API's 400 does.
    """
    try:
        return msgspec.json.decode(msgspec.json.encode(body), type=schema)
    except msgspec.ValidationError as exc:
        message = str(exc)
        at = _AT.search(message)
        path = "body"
        if at:
            message = message[: at.start()]
            key = at.group(1)
            path = f"body{key}" if key.startswith("[") else f"body.{key}" if key else "body"
        named = _NAMED.search(message)
        if named:
            path = f"{path}.{named.group(1)}"
        raise InvalidInputError([(path, message)]) from None


def _json_values(values: tuple[str, ...], option: str) -> list[Any]:
    parsed = []
    for index, value in enumerate(values):
        try:
            parsed.append(json.loads(value))
        except json.JSONDecodeError as exc:
            fail(f"{option}: value {index + 1} is not JSON ({exc.msg})")
    return parsed


def _json_file(source: IO[str] | None, option: str) -> Any:
    if source is None:
        return None
    try:
        return json.load(source)
    except json.JSONDecodeError as exc:
        fail(f"{option}: not JSON ({exc.msg}, line {exc.lineno})")


async def _party(
    services: Container,
    prefix: str,
    emails: tuple[str, ...],
    role: str | None,
    department: str | None,
) -> dict[str, Any] | None:
    """A party of the body (``users`` ids, ``role``, ``department_id``), or ``None``."""
    if not emails and role is None and department is None:
        return None
    users = [
        str((await acting_as(services, email, f"--{prefix}-user")).user_id) for email in emails
    ]
    party: dict[str, Any] = {"users": users, "role": role}
    if department is not None:
        party["department_id"] = str(
            await department_named(services, department, f"--{prefix}-department")
        )
    return party


def _print(done: TaskView, names: Any, as_json: bool) -> None:
    """The task as ``GET /tasks/{id}`` answers it (``--json``), or where it stands."""
    if as_json:
        _echo_json(done)
        return
    click.echo(f"task {done.id} is {done.status}; {holder(done, names)}")


role_choice = click.Choice([role.value for role in Role])


@tasks.command("create")
@acting_option
@click.option("--title", required=True, help="What the task is (1 to 500 characters).")
@click.option("--description", default="", help="The details.")
@click.option(
    "--department", default=None, metavar="CODE", help="Its department (the --as user's)."
)
@click.option("--assignee", default=None, metavar="EMAIL", help="Give it at once to this user.")
@click.option(
    "--offer-user", multiple=True, metavar="EMAIL", help="Offer it to this user (repeatable)."
)
@click.option("--offer-role", type=role_choice, default=None, help="Offer it to this role.")
@click.option(
    "--offer-department", default=None, metavar="CODE", help="Offer it to this department."
)
@click.option("--reviewer-user", multiple=True, metavar="EMAIL", help="A reviewer (repeatable).")
@click.option("--reviewer-role", type=role_choice, default=None, help="Reviewers: this role.")
@click.option(
    "--reviewer-department", default=None, metavar="CODE", help="Reviewers: this department."
)
@click.option(
    "--approvals", type=int, default=1, show_default=True, help="Distinct approvals needed."
)
@click.option(
    "--on-reject",
    type=click.Choice([o.value for o in OnReject]),
    default=OnReject.REWORK.value,
    show_default=True,
)
@click.option(
    "--form-json",
    type=click.File("r"),
    default=None,
    metavar="FILE|-",
    help="The form's fields as a JSON object (- reads stdin).",
)
@click.option("--due-in", default=None, metavar="DURATION", help="The deadline from now (2d, 8h).")
@click.option("--due-at", default=None, metavar="ISO-8601", help="The deadline, with its offset.")
@click.option(
    "--escalate-user", multiple=True, metavar="EMAIL", help="After the deadline: this user."
)
@click.option(
    "--escalate-role", type=role_choice, default=None, help="After the deadline: this role."
)
@click.option(
    "--escalate-department",
    default=None,
    metavar="CODE",
    help="After the deadline: this department.",
)
@click.option(
    "--notify",
    "notify",
    multiple=True,
    metavar="JSON",
    help='A notify channel (repeatable), e.g. \'{"channel": "email", "on": ["created"]}\'.',
)
@json_option
def create(
    as_email: str,
    title: str,
    description: str,
    department: str | None,
    assignee: str | None,
    offer_user: tuple[str, ...],
    offer_role: str | None,
    offer_department: str | None,
    reviewer_user: tuple[str, ...],
    reviewer_role: str | None,
    reviewer_department: str | None,
    approvals: int,
    on_reject: str,
    form_json: IO[str] | None,
    due_in: str | None,
    due_at: str | None,
    escalate_user: tuple[str, ...],
    escalate_role: str | None,
    escalate_department: str | None,
    notify: tuple[str, ...],
    as_json: bool,
) -> None:
    """Open a standalone task (an ADMIN, or a MANAGER in its department), as POST /tasks."""
    channels = _json_values(notify, "--notify")
    form = _json_file(form_json, "--form-json")

    async def body(services: Container, principal: Principal) -> tuple[TaskView, Any]:
        request: dict[str, Any] = {
            "title": title,
            "description": description,
            "approvals": approvals,
            "on_reject": on_reject,
            "notify": channels,
        }
        if department is not None:
            request["department_id"] = str(
                await department_named(services, department, "--department")
            )
        if assignee is not None:
            request["assignee_id"] = str(
                (await acting_as(services, assignee, "--assignee")).user_id
            )
        for key, party in (
            (
                "offered_to",
                await _party(services, "offer", offer_user, offer_role, offer_department),
            ),
            (
                "reviewers",
                await _party(
                    services, "reviewer", reviewer_user, reviewer_role, reviewer_department
                ),
            ),
            (
                "escalate_to",
                await _party(
                    services, "escalate", escalate_user, escalate_role, escalate_department
                ),
            ),
        ):
            if party is not None:
                request[key] = party
        if form is not None:
            request["form"] = form
        if due_in is not None:
            request["due_in"] = due_in
        if due_at is not None:
            request["due_at"] = due_at
        data = decoded(request, TaskCreateIn)
        problems = data.problems()
        if problems:
            raise InvalidInputError(problems)
        done = await _tasks(services).create(principal, data.to_new())
        return done, await names_of(services, ids_named([done]))

    done, names = _with_tasks(as_email, body)
    _print(done, names, as_json)


@tasks.command("edit")
@click.argument("task_id", type=click.UUID)
@acting_option
@click.option("--title", default=None, help="The new title.")
@click.option("--description", default=None, help="The new description.")
@click.option(
    "--due-at", default=None, metavar="ISO-8601", help="The new deadline, with its offset."
)
@click.option("--no-deadline", is_flag=True, help="Remove the deadline.")
@click.option("--reason", default="", help="Why; recorded in the audit log.")
@click.option(
    "--version",
    "version",
    type=int,
    default=None,
    help="The version read (default: the current one); a task changed since is refused.",
)
@json_option
def edit(
    task_id: UUID,
    as_email: str,
    title: str | None,
    description: str | None,
    due_at: str | None,
    no_deadline: bool,
    reason: str,
    version: int | None,
    as_json: bool,
) -> None:
    """Change a task's title, description or deadline (never its status), as PATCH /tasks/{id}."""
    if due_at is not None and no_deadline:
        fail("--due-at: give --due-at or --no-deadline, not both")

    async def body(services: Container, principal: Principal) -> tuple[TaskView, Any]:
        cases = _tasks(services)
        read = version
        if read is None:
            read = (await cases.get(principal, task_id)).version
        request: dict[str, Any] = {"version": read, "reason": reason}
        for key, value in (("title", title), ("description", description), ("due_at", due_at)):
            if value is not None:
                request[key] = value
        if no_deadline:
            request["due_at"] = None
        data = decoded(request, TaskUpdateIn)
        if not data.names_a_field:
            await cases.get(principal, task_id)
            raise InvalidInputError([("body", "name at least one of title, description, due_at")])
        done = await cases.edit(principal, task_id, data.to_edit(), data.version)
        return done, await names_of(services, ids_named([done]))

    done, names = _with_tasks(as_email, body)
    _print(done, names, as_json)


commands = [tasks]
