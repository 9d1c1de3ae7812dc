"""The Jira REST v3 routes the emulator answers; each returns ``(status, JSON body or None)``
or raises :class:`JiraError` with Jira's answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from govflow.devtools.jira_emulator import render
from govflow.devtools.jira_emulator.state import JiraError

if TYPE_CHECKING:
    from govflow.devtools.jira_emulator.app import Call

Route = Callable[["Call", int], tuple[int, Any]]
INVALID_PAYLOAD = "Invalid request payload. Refer to the REST API documentation and try again."
_ORDERS = {"created": False, "+created": False, "-created": True}
_TRUE = {"true": True, "false": False}


def _myself(call: Call, _max_page: int) -> tuple[int, Any]:
    return 200, render.myself(call.base, call.user)


def _page_number(call: Call, name: str, default: int) -> int:
    raw = call.one(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise JiraError(400, [f"The value '{raw}' of '{name}' is not a number."]) from None
    if value < 0:
        raise JiraError(400, [f"'{name}' must not be negative."])
    return value


def _comments(call: Call, max_page: int) -> tuple[int, Any]:
    issue = call.state.issue_for(call.user, call.params["issue"])
    start = _page_number(call, "startAt", 0)
    size = min(_page_number(call, "maxResults", max_page), max_page)
    order = call.one("orderBy") or "created"
    if order not in _ORDERS:
        raise JiraError(400, [f"The value '{order}' of 'orderBy' is not supported."])
    expand = set(call.values("expand"))
    ordered = sorted(issue.comments, key=lambda c: int(c.id), reverse=_ORDERS[order])
    page = ordered[start : start + size]
    return 200, {
        "startAt": start,
        "maxResults": size,
        "total": len(ordered),
        "comments": [
            render.comment(
                call.base,
                call.state,
                c,
                properties="properties" in expand,
                rendered="renderedBody" in expand,
            )
            for c in page
        ],
    }


def _properties_of(value: Any, where: str) -> dict[str, Any]:
    """A request's ``properties`` list as a mapping; Jira's 400 naming the item otherwise."""
    if value is None:
        return {}
    if not isinstance(value, list):
        raise JiraError(400, [], {where: "must be a list of {key, value}"})
    found: dict[str, Any] = {}
    for index, item in enumerate(value):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("key"), str)
            or "value" not in item
        ):
            raise JiraError(400, [], {f"{where}[{index}]": "must be an object with key and value"})
        found[item["key"]] = item["value"]
    return found


def _add_comment(call: Call, _max_page: int) -> tuple[int, Any]:
    issue = call.state.issue_for(call.user, call.params["issue"])
    payload = call.json()
    if not isinstance(payload, dict):
        raise JiraError(400, [INVALID_PAYLOAD])
    visibility = payload.get("visibility")
    if visibility is not None and (
        not isinstance(visibility, dict) or visibility.get("type") not in ("group", "role")
    ):
        raise JiraError(400, [], {"commentLevel": "The visibility type must be group or role."})
    comment = call.state.add_comment(
        call.user,
        issue,
        payload.get("body"),
        visibility=visibility,
        properties=_properties_of(payload.get("properties"), "properties"),
    )
    expand = set(call.values("expand"))
    return 201, render.comment(
        call.base,
        call.state,
        comment,
        properties="properties" in expand,
        rendered="renderedBody" in expand,
    )


def _comment(call: Call, _max_page: int) -> tuple[int, Any]:
    issue = call.state.issue_for(call.user, call.params["issue"])
    found = next((c for c in issue.comments if c.id == call.params["id"]), None)
    if found is None:
        raise JiraError(404, [f"Can not find a comment for the id: {call.params['id']}."])
    expand = set(call.values("expand"))
    return 200, render.comment(
        call.base,
        call.state,
        found,
        properties="properties" in expand,
        rendered="renderedBody" in expand,
    )


def _flag(call: Call, name: str) -> bool:
    raw = (call.one(name) or "false").lower()
    if raw not in _TRUE:
        raise JiraError(400, [f"The value '{raw}' of '{name}' is not a boolean."])
    return _TRUE[raw]


def _transitions(call: Call, _max_page: int) -> tuple[int, Any]:
    issue = call.state.issue_for(call.user, call.params["issue"])
    project = call.state.project_of(issue)
    with_fields = "transitions.fields" in call.values("expand")
    offered = (
        project.transitions
        if _flag(call, "includeUnavailableTransitions")
        else (call.state.available_transitions(issue))
    )
    wanted = call.one("transitionId")
    listed = []
    for transition in offered:
        if wanted is not None and transition.id != wanted:
            continue
        shown = render.transition(call.base, call.state, issue, transition, with_fields=with_fields)
        shown["isAvailable"] = transition.available_from(issue.status)
        listed.append(shown)
    return 200, {"expand": "transitions", "transitions": listed}


def _do_transition(call: Call, _max_page: int) -> tuple[int, Any]:
    issue = call.state.issue_for(call.user, call.params["issue"])
    payload = call.json()
    if not isinstance(payload, dict):
        raise JiraError(400, [INVALID_PAYLOAD])
    transition = payload.get("transition")
    transition_id = transition.get("id") if isinstance(transition, dict) else None
    if not isinstance(transition_id, str | int) or isinstance(transition_id, bool):
        raise JiraError(400, ["Missing 'transition' identifier"])
    fields = payload.get("fields") or {}
    if not isinstance(fields, dict):
        raise JiraError(400, [], {"fields": "must be an object"})
    update = payload.get("update") or {}
    if not isinstance(update, dict):
        raise JiraError(400, [], {"update": "must be an object"})
    comments: list[Any] = []
    for name, operations in update.items():
        if not isinstance(operations, list):
            raise JiraError(400, [], {name: "must be a list of operations"})
        for operation in operations:
            if (
                name == "comment"
                and isinstance(operation, dict)
                and isinstance(operation.get("add"), dict)
            ):
                comments.append(operation["add"].get("body"))
            elif isinstance(operation, dict) and "set" in operation:
                fields = {**fields, name: operation["set"]}
            else:
                raise JiraError(400, [], {name: "unsupported operation"})
    call.state.transition(
        call.user,
        issue,
        str(transition_id),
        fields=fields,
        comments=comments,
        properties=_properties_of(payload.get("properties"), "properties"),
    )
    return 204, None


def _issue(call: Call, _max_page: int) -> tuple[int, Any]:
    issue = call.state.issue_for(call.user, call.params["issue"])
    return 200, render.issue(
        call.base,
        call.state,
        issue,
        fields=call.values("fields"),
        properties=call.values("properties"),
    )


def _missing_property(key: str) -> JiraError:
    return JiraError(404, [f"The property with key '{key}' does not exist."])


def _property_value(call: Call) -> Any:
    if not call.body.strip():
        raise JiraError(400, ["The property value cannot be empty."])
    return call.json()


def _issue_property(call: Call, _max_page: int) -> tuple[int, Any]:
    issue = call.state.issue_for(call.user, call.params["issue"])
    key = call.params["key"]
    if key not in issue.properties:
        raise _missing_property(key)
    return 200, {"key": key, "value": issue.properties[key]}


def _set_issue_property(call: Call, _max_page: int) -> tuple[int, Any]:
    issue = call.state.issue_for(call.user, call.params["issue"])
    created = call.state.set_issue_property(issue, call.params["key"], _property_value(call))
    return (201 if created else 200), None


def _comment_property_keys(call: Call, _max_page: int) -> tuple[int, Any]:
    _issue_of, comment = call.state.comment_for(call.user, call.params["comment"])
    return 200, {
        "keys": [
            {"key": key, "self": f"{call.base}/rest/api/3/comment/{comment.id}/properties/{key}"}
            for key in comment.properties
        ]
    }


def _comment_property(call: Call, _max_page: int) -> tuple[int, Any]:
    _issue_of, comment = call.state.comment_for(call.user, call.params["comment"])
    key = call.params["key"]
    if key not in comment.properties:
        raise _missing_property(key)
    return 200, {"key": key, "value": comment.properties[key]}


def _set_comment_property(call: Call, _max_page: int) -> tuple[int, Any]:
    _issue_of, comment = call.state.comment_for(call.user, call.params["comment"])
    created = call.state.set_comment_property(comment, call.params["key"], _property_value(call))
    return (201 if created else 200), None


_SEGMENT = r"[^/]+"
_TABLE: list[tuple[str, str, Route]] = [
    ("GET", r"/rest/api/3/myself", _myself),
    ("GET", r"/rest/api/3/issue/(?P<issue>SEG)/comment", _comments),
    ("POST", r"/rest/api/3/issue/(?P<issue>SEG)/comment", _add_comment),
    ("GET", r"/rest/api/3/issue/(?P<issue>SEG)/comment/(?P<id>SEG)", _comment),
    ("GET", r"/rest/api/3/issue/(?P<issue>SEG)/transitions", _transitions),
    ("POST", r"/rest/api/3/issue/(?P<issue>SEG)/transitions", _do_transition),
    ("GET", r"/rest/api/3/issue/(?P<issue>SEG)", _issue),
    ("GET", r"/rest/api/3/issue/(?P<issue>SEG)/properties/(?P<key>SEG)", _issue_property),
    ("PUT", r"/rest/api/3/issue/(?P<issue>SEG)/properties/(?P<key>SEG)", _set_issue_property),
    ("GET", r"/rest/api/3/comment/(?P<comment>SEG)/properties", _comment_property_keys),
    ("GET", r"/rest/api/3/comment/(?P<comment>SEG)/properties/(?P<key>SEG)", _comment_property),
    ("PUT", r"/rest/api/3/comment/(?P<comment>SEG)/properties/(?P<key>SEG)", _set_comment_property),
]
ROUTES = [
    (method, re.compile(pattern.replace("SEG", _SEGMENT) + "/?"), handler)
    for method, pattern, handler in _TABLE
]


def resolve(method: str, path: str) -> tuple[Route | None, dict[str, str], set[str]]:
    """The route for ``method`` and ``path`` with its path parameters, or ``None`` and the
    methods the path allows (empty: no such path)."""
    allowed: set[str] = set()
    for route_method, pattern, handler in ROUTES:
        matched = pattern.fullmatch(path)
        if matched is None:
            continue
        if route_method == method:
            return handler, matched.groupdict(), allowed
        allowed.add(route_method)
    return None, {}, allowed
