"""The emulated Jira site: accounts, projects with their workflows, issues, comments and entity
properties, and the record of what was done to them.

Every operation checks what Jira checks and raises :class:`JiraError` with the status and the
``{errorMessages, errors}`` body Jira answers with. The records are msgspec structs, so the
control API sends them as they are and a client decodes the same types.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from govflow.devtools.jira_emulator import adf
from govflow.devtools.jira_emulator.seed import Seed, SeedProject, issue_number

MAX_PROPERTY_BYTES = 32_768
MAX_PROPERTY_KEY = 255
ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
CATEGORY_IDS = {"new": 2, "indeterminate": 4, "done": 3}
CATEGORY_NAMES = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
CATEGORY_COLOURS = {"new": "blue-gray", "indeterminate": "yellow", "done": "green"}


class JiraError(Exception):
    """A refusal as Jira answers it: ``status`` and the ``{errorMessages, errors}`` body."""

    def __init__(
        self,
        status: int,
        messages: list[str] | None = None,
        errors: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {messages or ''} {dict(errors or {}) or ''}".strip())
        self.status = status
        self.messages = list(messages or [])
        self.errors = dict(errors or {})

    def body(self) -> dict[str, Any]:
        return {"errorMessages": self.messages, "errors": self.errors}


class User(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    api_token: str
    display_name: str
    account_id: str


class Status(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    category: str


class Transition(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    to: str
    sources: list[str]
    fields: list[str]

    def available_from(self, status: str) -> bool:
        return not self.sources or status in self.sources


class Project(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    key: str
    name: str
    statuses: dict[str, Status]
    transitions: list[Transition]


class Comment(msgspec.Struct, kw_only=True):
    """A comment; ``body`` is its ADF document, ``properties`` its entity properties."""

    id: str
    issue_key: str
    author: str
    body: Any
    created: datetime
    updated: datetime
    visibility: dict[str, Any] | None = None
    properties: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def text(self) -> str:
        """The comment's plain text."""
        return adf.text_of(self.body)


class Issue(msgspec.Struct, kw_only=True):
    id: str
    key: str
    project: str
    summary: str
    status: str
    created: datetime
    updated: datetime
    fields: dict[str, Any] = msgspec.field(default_factory=dict)
    properties: dict[str, Any] = msgspec.field(default_factory=dict)
    visible_to: list[str] | None = None
    comments: list[Comment] = msgspec.field(default_factory=list)

    def visible_for(self, user: User) -> bool:
        return self.visible_to is None or user.email in self.visible_to


class AppliedTransition(msgspec.Struct, frozen=True, kw_only=True):
    """A transition the emulator applied, with the issue properties its request carried."""

    issue_key: str
    transition_id: str
    name: str
    from_status: str
    to_status: str
    by: str
    at: datetime
    fields: dict[str, Any] = msgspec.field(default_factory=dict)
    properties: dict[str, Any] = msgspec.field(default_factory=dict)


def account_id(email: str) -> str:
    """A stable Atlassian-style account id for ``email``."""
    return hashlib.sha256(email.encode()).hexdigest()[:24]


def check_property(key: str, value: Any) -> None:
    """Jira's limits on an entity property: a key of 1..255 characters, a JSON value of at most
    32,768 bytes."""
    if not key:
        raise JiraError(400, ["The property key cannot be empty."])
    if len(key) > MAX_PROPERTY_KEY:
        raise JiraError(400, [f"The property key is too long: {MAX_PROPERTY_KEY} characters max."])
    if len(msgspec.json.encode(value)) > MAX_PROPERTY_BYTES:
        raise JiraError(
            400, [f"The property value is too long: {MAX_PROPERTY_BYTES} bytes of JSON max."]
        )


class JiraState:
    """The site's data; one event loop uses it, so operations need no lock."""

    def __init__(self, seed: Seed, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self.seed = seed
        self.users: dict[str, User] = {}
        self.projects: dict[str, Project] = {}
        self.issues: dict[str, Issue] = {}
        self.transitions_applied: list[AppliedTransition] = []
        self._comment_ids = itertools.count(10_000)
        self._issue_ids = itertools.count(10_001)
        self._status_ids: dict[str, str] = {}
        for seed_user in seed.users:
            self.users[seed_user.email] = User(
                email=seed_user.email,
                api_token=seed_user.api_token,
                display_name=seed_user.display_name,
                account_id=account_id(seed_user.email),
            )
        for number, seed_project in enumerate(seed.projects):
            self._add_project(seed_project, str(10_000 + number))

    # -- seed ---------------------------------------------------------------------------------

    def _status_id(self, name: str) -> str:
        return self._status_ids.setdefault(name, str(10_000 + len(self._status_ids)))

    def _add_project(self, seed: SeedProject, project_id: str) -> None:
        statuses = {
            s.name: Status(id=self._status_id(s.name), name=s.name, category=s.category)
            for s in seed.statuses
        }
        transitions = [
            Transition(id=t.id, name=t.name, to=t.to, sources=list(t.from_), fields=list(t.fields))
            for t in seed.transitions
        ]
        self.projects[seed.key] = Project(
            id=project_id, key=seed.key, name=seed.name, statuses=statuses, transitions=transitions
        )
        listed = {issue.key: issue for issue in seed.issues}
        numbers = sorted({*range(1, seed.issue_count + 1), *(issue_number(key) for key in listed)})
        for number in numbers:
            key = f"{seed.key}-{number}"
            issue = listed.get(key)
            self.add_issue(
                seed.key,
                key=key,
                summary=issue.summary if issue and issue.summary else f"{seed.name} {number}",
                status=issue.status if issue else None,
                visible_to=issue.visible_to if issue else None,
                properties=issue.properties if issue else None,
            )

    def add_issue(
        self,
        project_key: str,
        *,
        key: str | None = None,
        summary: str = "",
        status: str | None = None,
        visible_to: list[str] | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> Issue:
        """Create an issue in ``project_key`` (the next free number unless ``key`` is given)."""
        project = self.projects.get(project_key)
        if project is None:
            raise JiraError(400, [], {"project": f"project {project_key!r} does not exist"})
        if key is None:
            taken = [issue_number(k) for k, i in self.issues.items() if i.project == project_key]
            key = f"{project_key}-{max(taken, default=0) + 1}"
        elif not re.fullmatch(rf"{re.escape(project_key)}-[1-9][0-9]*", key):
            raise JiraError(400, [], {"key": f"{key!r} is not {project_key}-<number>"})
        if key in self.issues:
            raise JiraError(400, [], {"key": f"issue {key!r} exists"})
        first = next(iter(project.statuses))
        if status is not None and status not in project.statuses:
            raise JiraError(400, [], {"status": f"status {status!r} is not in {project_key}"})
        now = self._clock()
        issue = Issue(
            id=str(next(self._issue_ids)),
            key=key,
            project=project_key,
            summary=summary or key,
            status=status or first,
            created=now,
            updated=now,
            properties=dict(properties or {}),
            visible_to=None if visible_to is None else list(visible_to),
        )
        self.issues[key] = issue
        return issue

    # -- reads --------------------------------------------------------------------------------

    def authenticate(self, email: str, token: str) -> User | None:
        user = self.users.get(email)
        if user is None or not _same(user.api_token, token):
            return None
        return user

    def issue_for(self, user: User, id_or_key: str) -> Issue:
        """The issue ``id_or_key`` as ``user`` sees it; unknown and hidden ones are a 404."""
        issue = self.issues.get(id_or_key.upper())
        if issue is None and id_or_key.isdigit():
            issue = next((i for i in self.issues.values() if i.id == id_or_key), None)
        if issue is None or not issue.visible_for(user):
            raise JiraError(404, [ISSUE_NOT_FOUND])
        return issue

    def comment_for(self, user: User, comment_id: str) -> tuple[Issue, Comment]:
        for issue in self.issues.values():
            for comment in issue.comments:
                if comment.id == comment_id and issue.visible_for(user):
                    return issue, comment
        raise JiraError(404, [f"Can not find a comment for the id: {comment_id}."])

    def project_of(self, issue: Issue) -> Project:
        return self.projects[issue.project]

    def status_of(self, issue: Issue) -> Status:
        return self.projects[issue.project].statuses[issue.status]

    def available_transitions(self, issue: Issue) -> list[Transition]:
        return [t for t in self.project_of(issue).transitions if t.available_from(issue.status)]

    # -- writes -------------------------------------------------------------------------------

    def add_comment(
        self,
        user: User,
        issue: Issue,
        body: Any,
        *,
        visibility: dict[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> Comment:
        if body is None:
            raise JiraError(400, [], {"comment": "Comment body can not be empty!"})
        problem = adf.document_problem(body)
        if problem is not None:
            raise JiraError(400, [], {"comment": problem})
        if adf.is_empty(body):
            raise JiraError(400, [], {"comment": "Comment body can not be empty!"})
        for key, value in (properties or {}).items():
            check_property(key, value)
        now = self._clock()
        comment = Comment(
            id=str(next(self._comment_ids)),
            issue_key=issue.key,
            author=user.email,
            body=body,
            created=now,
            updated=now,
            visibility=visibility,
            properties=dict(properties or {}),
        )
        issue.comments.append(comment)
        issue.updated = now
        return comment

    def set_comment_property(self, comment: Comment, key: str, value: Any) -> bool:
        """Set the property; ``True`` when it was created, ``False`` when updated."""
        check_property(key, value)
        created = key not in comment.properties
        comment.properties[key] = value
        return created

    def set_issue_property(self, issue: Issue, key: str, value: Any) -> bool:
        """Set the property; ``True`` when it was created, ``False`` when updated."""
        check_property(key, value)
        created = key not in issue.properties
        issue.properties[key] = value
        return created

    def transition(
        self,
        user: User,
        issue: Issue,
        transition_id: str,
        *,
        fields: Mapping[str, Any] | None = None,
        comments: list[Any] | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> AppliedTransition:
        """Apply a transition that is available from the issue's status, with its screen's
        fields, comments to add and issue properties to set, all or nothing."""
        transition = next(
            (t for t in self.available_transitions(issue) if t.id == transition_id), None
        )
        if transition is None:
            raise JiraError(400, [f"Transition id '{transition_id}' is not valid for this issue."])
        refused = {
            name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            for name in fields or {}
            if name not in transition.fields
        }
        if refused:
            raise JiraError(400, [], refused)
        for body in comments or []:
            problem = adf.document_problem(body)
            if problem is not None:
                raise JiraError(400, [], {"comment": problem})
        for key, value in (properties or {}).items():
            check_property(key, value)
        for body in comments or []:
            self.add_comment(user, issue, body)
        applied = AppliedTransition(
            issue_key=issue.key,
            transition_id=transition.id,
            name=transition.name,
            from_status=issue.status,
            to_status=transition.to,
            by=user.email,
            at=self._clock(),
            fields=dict(fields or {}),
            properties=dict(properties or {}),
        )
        issue.status = transition.to
        issue.fields.update(fields or {})
        issue.properties.update(properties or {})
        issue.updated = applied.at
        self.transitions_applied.append(applied)
        return applied


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
