"""The JSON Jira Cloud REST v3 answers with, built from the emulator's records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from govflow.devtools.jira_emulator import adf
from govflow.devtools.jira_emulator.state import (
    CATEGORY_COLOURS,
    CATEGORY_IDS,
    CATEGORY_NAMES,
    Comment,
    Issue,
    JiraState,
    Project,
    Status,
    Transition,
    User,
)

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


def timestamp(moment: datetime) -> str:
    """A timestamp as the document's ``date-time`` format (RFC 3339) wants it:
    ``2026-11-27T05:40:00.000+00:00``. Jira itself writes the offset as ``+0000``; clients
    should read both."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def avatars(base: str, account: str) -> dict[str, str]:
    return {
        size: f"{base}/avatar/{account}?s={size}" for size in ("16x16", "24x24", "32x32", "48x48")
    }


def user_details(base: str, user: User) -> dict[str, Any]:
    return {
        "self": f"{base}/rest/api/3/user?accountId={user.account_id}",
        "accountId": user.account_id,
        "accountType": "atlassian",
        "emailAddress": user.email,
        "avatarUrls": avatars(base, user.account_id),
        "displayName": user.display_name,
        "active": True,
        "timeZone": "Etc/UTC",
    }


def myself(base: str, user: User) -> dict[str, Any]:
    return {
        **user_details(base, user),
        "locale": "en_US",
        "groups": {"size": 1, "items": []},
        "applicationRoles": {"size": 1, "items": []},
        "expand": "groups,applicationRoles",
    }


def status(base: str, found: Status) -> dict[str, Any]:
    category = found.category
    return {
        "self": f"{base}/rest/api/3/status/{found.id}",
        "description": "",
        "iconUrl": f"{base}/images/icons/statuses/generic.png",
        "name": found.name,
        "id": found.id,
        "statusCategory": {
            "self": f"{base}/rest/api/3/statuscategory/{CATEGORY_IDS[category]}",
            "id": CATEGORY_IDS[category],
            "key": category,
            "colorName": CATEGORY_COLOURS[category],
            "name": CATEGORY_NAMES[category],
        },
    }


def comment(
    base: str, state: JiraState, found: Comment, *, properties: bool, rendered: bool
) -> dict[str, Any]:
    author = user_details(base, state.users[found.author])
    answer: dict[str, Any] = {
        "self": f"{base}/rest/api/3/issue/{state.issues[found.issue_key].id}/comment/{found.id}",
        "id": found.id,
        "author": author,
        "body": found.body,
        "updateAuthor": author,
        "created": timestamp(found.created),
        "updated": timestamp(found.updated),
        "jsdPublic": True,
    }
    if found.visibility is not None:
        answer["visibility"] = found.visibility
    if rendered:
        answer["renderedBody"] = adf.to_html(found.body)
    if properties:
        answer["properties"] = [{"key": k, "value": v} for k, v in found.properties.items()]
    return answer


def project(base: str, found: Project) -> dict[str, Any]:
    return {
        "self": f"{base}/rest/api/3/project/{found.id}",
        "id": found.id,
        "key": found.key,
        "name": found.name,
        "projectTypeKey": "software",
        "simplified": False,
    }


def issue_fields(base: str, state: JiraState, found: Issue) -> dict[str, Any]:
    """Every field of the issue, as ``fields=*all`` returns them."""
    return {
        "summary": found.summary,
        "status": status(base, state.status_of(found)),
        "project": project(base, state.project_of(found)),
        "created": timestamp(found.created),
        "updated": timestamp(found.updated),
        "resolution": None,
        **found.fields,
    }


def issue(
    base: str,
    state: JiraState,
    found: Issue,
    *,
    fields: list[str],
    properties: list[str],
) -> dict[str, Any]:
    """``GET /issue/{key}``: the fields asked for (``*all``/``*navigable`` for every one,
    ``-name`` to leave one out) and the properties asked for (``*all`` for every one)."""
    every = issue_fields(base, state, found)
    wanted = [name for name in fields if not name.startswith("-")]
    if not wanted or {"*all", "*navigable"} & set(wanted):
        chosen = dict(every)
    else:
        chosen = {name: every[name] for name in wanted if name in every}
    for name in fields:
        if name.startswith("-"):
            chosen.pop(name[1:], None)
    answer: dict[str, Any] = {
        "expand": ISSUE_EXPAND,
        "id": found.id,
        "self": f"{base}/rest/api/3/issue/{found.id}",
        "key": found.key,
        "fields": chosen,
    }
    if properties:
        every_property = "*all" in properties
        answer["properties"] = {
            key: value
            for key, value in found.properties.items()
            if every_property or key in properties
        }
    return answer


def transition(
    base: str, state: JiraState, found: Issue, offered: Transition, *, with_fields: bool
) -> dict[str, Any]:
    target = state.project_of(found).statuses[offered.to]
    answer: dict[str, Any] = {
        "id": offered.id,
        "name": offered.name,
        "to": status(base, target),
        "hasScreen": bool(offered.fields),
        "isGlobal": not offered.sources,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
        "isLooped": False,
    }
    if with_fields:
        answer["fields"] = {
            name: {
                "required": False,
                "schema": {"type": "string", "system": name},
                "name": name.capitalize(),
                "key": name,
                "operations": ["set"],
            }
            for name in offered.fields
        }
    return answer
