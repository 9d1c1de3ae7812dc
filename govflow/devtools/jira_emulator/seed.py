"""What the emulator starts with: accounts, projects, their workflows and issues.

A seed is a YAML or JSON document decoded into the structs below; :data:`DEFAULT_SEED` is the one
``govflow dev jira-emulator`` uses without ``--seed``. Decoding and the cross-checks (a status a
transition or an issue names exists, issue keys belong to their project and are unique) report
every problem with its path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import yaml

StatusCategoryKey = Literal["new", "indeterminate", "done"]
ProjectKey = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9]{1,9}$")]
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
_ISSUE_KEY = re.compile(r"^(?P<project>[A-Z][A-Z0-9]+)-(?P<number>[1-9][0-9]*)$")


class SeedError(ValueError):
    """The seed document is malformed; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class SeedUser(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """An account that authenticates with Basic auth: its email and API token."""

    email: NonEmpty
    api_token: NonEmpty
    display_name: str = "GovFlow Developer"


class SeedStatus(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A status of a project's workflow; ``category`` is Jira's status category."""

    name: NonEmpty
    category: StatusCategoryKey = "indeterminate"


class SeedTransition(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A transition to ``to``, available from the statuses in ``from`` (every status when
    empty); ``fields`` are the fields its screen lets a request set."""

    id: Annotated[str, msgspec.Meta(pattern=r"^[0-9]+$")]
    name: NonEmpty
    to: NonEmpty
    from_: list[str] = msgspec.field(default_factory=list, name="from")
    fields: list[str] = msgspec.field(default_factory=list)


class SeedIssue(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """An issue; ``status`` defaults to the workflow's first status. ``visible_to`` limits who
    sees it (every account when absent): the others get a 404, as for an issue under a
    security level."""

    key: NonEmpty
    summary: str = ""
    status: str | None = None
    visible_to: list[str] | None = None
    properties: dict[str, Any] = msgspec.field(default_factory=dict)


class SeedProject(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A project: its workflow and issues. ``issue_count`` adds ``KEY-1`` .. ``KEY-n`` in the
    first status, besides the ``issues`` listed (a listed key wins)."""

    key: ProjectKey
    name: NonEmpty
    statuses: Annotated[list[SeedStatus], msgspec.Meta(min_length=1)]
    transitions: list[SeedTransition] = msgspec.field(default_factory=list)
    issue_count: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0
    issues: list[SeedIssue] = msgspec.field(default_factory=list)


class Seed(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The emulator's initial state."""

    users: Annotated[list[SeedUser], msgspec.Meta(min_length=1)]
    projects: list[SeedProject] = msgspec.field(default_factory=list)


DEFAULT_SEED_YAML = """\
users:
  - {email: govflow@example.com, api_token: emulator-token, display_name: GovFlow}
  - {email: admin@example.com, api_token: admin-token, display_name: Jira Admin}
projects:
  - key: PERMIT
    name: Building permits
    statuses:
      - {name: To Do, category: new}
      - {name: In Review, category: indeterminate}
      - {name: Done, category: done}
    transitions:
      - {id: "11", name: Start review, from: [To Do], to: In Review}
      - {id: "21", name: Approve, from: [To Do, In Review], to: Done, fields: [resolution]}
      - {id: "31", name: Reopen, from: [Done], to: To Do}
    issue_count: 50
    issues:
      - {key: PERMIT-99, summary: Restricted permit, visible_to: [admin@example.com]}
  - key: INC
    name: Incidents
    statuses:
      - {name: Open, category: new}
      - {name: Investigating, category: indeterminate}
      - {name: Closed, category: done}
    transitions:
      - {id: "11", name: Investigate, from: [Open], to: Investigating}
      - {id: "21", name: Close, from: [Open, Investigating], to: Closed, fields: [resolution]}
      - {id: "31", name: Reopen, from: [Closed], to: Open}
    issue_count: 20
"""


def parse_seed(data: Any) -> Seed:
    """The seed in ``data`` (decoded YAML or JSON).

    :raises SeedError: with one line per problem.
    """
    try:
        seed = msgspec.convert(data, Seed)
    except msgspec.ValidationError as exc:
        raise SeedError([str(exc)]) from None
    problems = _cross_check(seed)
    if problems:
        raise SeedError(problems)
    return seed


def load_seed(path: Path) -> Seed:
    """The seed stored as YAML or JSON (a JSON document is YAML too) at ``path``.

    :raises SeedError: unreadable, not YAML, or malformed.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeedError([f"{path}: {exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        raise SeedError([f"{path}: not YAML or JSON: {exc}"]) from None
    try:
        return parse_seed(data)
    except SeedError as exc:
        raise SeedError([f"{path}: {problem}" for problem in exc.problems]) from None


def default_seed() -> Seed:
    """The seed used when none is given: projects PERMIT and INC (see ``DEFAULT_SEED_YAML``)."""
    return parse_seed(yaml.safe_load(DEFAULT_SEED_YAML))


def _cross_check(seed: Seed) -> list[str]:
    problems: list[str] = []
    emails = [user.email for user in seed.users]
    if len(set(emails)) != len(emails):
        problems.append("users: an email appears twice")
    keys = [project.key for project in seed.projects]
    if len(set(keys)) != len(keys):
        problems.append("projects: a key appears twice")
    for p, project in enumerate(seed.projects):
        where = f"projects[{p}]"
        names = {status.name for status in project.statuses}
        if len(names) != len(project.statuses):
            problems.append(f"{where}.statuses: a name appears twice")
        ids = [transition.id for transition in project.transitions]
        if len(set(ids)) != len(ids):
            problems.append(f"{where}.transitions: an id appears twice")
        for t, transition in enumerate(project.transitions):
            for status in [transition.to, *transition.from_]:
                if status not in names:
                    problems.append(f"{where}.transitions[{t}]: unknown status {status!r}")
        seen: set[str] = set()
        for i, issue in enumerate(project.issues):
            matched = _ISSUE_KEY.match(issue.key)
            if matched is None or matched.group("project") != project.key:
                problems.append(
                    f"{where}.issues[{i}].key: {issue.key!r} is not {project.key}-<number>"
                )
            if issue.key in seen:
                problems.append(f"{where}.issues[{i}].key: {issue.key!r} appears twice")
            seen.add(issue.key)
            if issue.status is not None and issue.status not in names:
                problems.append(f"{where}.issues[{i}].status: unknown status {issue.status!r}")
            for email in issue.visible_to or []:
                if email not in emails:
                    problems.append(f"{where}.issues[{i}].visible_to: unknown user {email!r}")
    return problems


def issue_number(key: str) -> int:
    """The number of an issue key (``PERMIT-7`` -> 7)."""
    matched = _ISSUE_KEY.match(key)
    if matched is None:
        raise ValueError(f"not an issue key: {key!r}")
    return int(matched.group("number"))
