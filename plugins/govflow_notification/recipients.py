"""An email's recipients: its addresses, and its groups resolved through the host's directory.

The plugin's ``govflow_startup`` keeps the host's :class:`~govflow.plugins.directory.Directory`
as its resources (:class:`NotificationResources`); a group (``{role: MANAGER, department:
building-permits}``) becomes the addresses of the active users it names when the step runs, so
an email reaches whoever holds the role that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from govflow.plugins import ActionContext, BusinessError, TechnicalError
from govflow.plugins.directory import Directory
from govflow_notification.inputs import MAX_RECIPIENTS, Group, NotificationInputs


@dataclass(frozen=True, slots=True)
class NotificationResources:
    """What the plugin keeps from its host: the directory recipient groups are resolved
    through (``None`` where the host has none, as in the test kit by default)."""

    directory: Directory | None = None


def _directory(ctx: ActionContext) -> Directory:
    resources = ctx.resources
    directory = resources.directory if isinstance(resources, NotificationResources) else None
    if directory is None:
        raise BusinessError(
            "to: this host cannot look people up by role or department; name addresses"
        )
    return directory


async def recipients(ctx: ActionContext, params: NotificationInputs) -> list[str]:
    """Every address the email goes to, in the order of ``to`` (a group's members in address
    order where it stands), once each (compared case-insensitively).

    :raises BusinessError: a group names an unknown department, or nobody active; more than
        :data:`MAX_RECIPIENTS` addresses; groups on a host without a directory.
    :raises TechnicalError: the directory could not be asked (nothing was sent).
    """
    members: dict[int, list[str]] = {}
    groups = params.groups
    if groups:
        directory = _directory(ctx)
        try:
            members = await _members(directory, groups)
        except (BusinessError, TechnicalError):
            raise
        except Exception as exc:  # any failure of the host's directory: nothing was sent
            raise TechnicalError(f"the recipients could not be looked up: {exc!r}") from exc
    found: dict[str, str] = {}
    for position, recipient in enumerate(params.to or ()):
        for address in members[position] if isinstance(recipient, Group) else [recipient]:
            found.setdefault(address.lower(), address)
    if len(found) > MAX_RECIPIENTS:
        raise BusinessError(f"to: more than {MAX_RECIPIENTS} recipients")
    return list(found.values())


async def _members(directory: Directory, groups: list[tuple[int, Group]]) -> dict[int, list[str]]:
    """The addresses of each group's members, by the group's position in ``to``."""
    codes = sorted({group.department for _, group in groups if group.department is not None})
    departments = await directory.departments(codes) if codes else {}
    members: dict[int, list[str]] = {}
    for position, group in groups:
        department: UUID | None = None
        if group.department is not None:
            department = departments.get(group.department)
            if department is None:
                raise BusinessError(
                    f"to[{position}].department: no department has the code {group.department!r}"
                )
        emails = await directory.emails(
            role=group.role, department=department, limit=MAX_RECIPIENTS + 1
        )
        if not emails:
            raise BusinessError(f"to[{position}]: no active user {group}")
        members[position] = list(emails)
    return members
