"""The control API under ``/_emulator/``: read the emulator's records, add issues, inject and
clear faults, reset to the seed. It needs no authentication (the emulator serves loopback).

| method and path | does |
|---|---|
| ``GET /_emulator/health`` | ``{"status": "ok"}`` |
| ``GET /_emulator/issues/{key}`` | the issue: status, fields, properties, comments |
| ``POST /_emulator/issues`` | add an issue (:class:`NewIssue`) |
| ``GET /_emulator/transitions`` | the transitions applied, oldest first |
| ``GET /_emulator/requests`` | the Jira API requests received, oldest first |
| ``GET /_emulator/faults`` | the faults still active and their remaining uses |
| ``POST /_emulator/faults`` | inject a fault (see :mod:`.faults`) |
| ``DELETE /_emulator/faults`` | clear every fault |
| ``POST /_emulator/reset`` | back to the seed |
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from govflow.devtools.jira_emulator.faults import Fault
from govflow.devtools.jira_emulator.messages import Answer
from govflow.devtools.jira_emulator.state import JiraError

if TYPE_CHECKING:
    from govflow.devtools.jira_emulator.app import EmulatorApp

PREFIX = "/_emulator/"


class NewIssue(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The body of ``POST /_emulator/issues``."""

    project: str
    key: str | None = None
    summary: str = ""
    status: str | None = None
    visible_to: list[str] | None = None


def _json(value: Any, status: int = 200) -> Answer:
    return Answer(status, msgspec.to_builtins(value))


def _problem(status: int, message: str) -> Answer:
    return Answer(status, {"errorMessages": [message], "errors": {}})


def handle(app: EmulatorApp, method: str, path: str, body: bytes | None) -> Answer:
    """Answer one control request."""
    route = path.removeprefix(PREFIX).rstrip("/")
    try:
        return _dispatch(app, method, route, body or b"")
    except msgspec.ValidationError as exc:
        return _problem(400, str(exc))
    except msgspec.DecodeError as exc:
        return _problem(400, f"not JSON: {exc}")
    except JiraError as exc:
        return Answer(exc.status, exc.body())


def _dispatch(app: EmulatorApp, method: str, route: str, body: bytes) -> Answer:
    state = app.state
    if (method, route) == ("GET", "health"):
        return _json({"status": "ok"})
    if (method, route) == ("GET", "transitions"):
        return _json(state.transitions_applied)
    if (method, route) == ("GET", "requests"):
        return _json(app.requests)
    if (method, route) == ("GET", "faults"):
        return _json(app.faults.active())
    if (method, route) == ("POST", "faults"):
        fault = msgspec.json.decode(body, type=Fault)
        app.faults.add(fault)
        return _json(fault, 201)
    if (method, route) == ("DELETE", "faults"):
        app.faults.clear()
        return Answer(204)
    if (method, route) == ("POST", "reset"):
        app.reset()
        return Answer(204)
    if (method, route) == ("POST", "issues"):
        new = msgspec.json.decode(body, type=NewIssue)
        issue = state.add_issue(
            new.project,
            key=new.key,
            summary=new.summary,
            status=new.status,
            visible_to=new.visible_to,
        )
        return _json(issue, 201)
    if method == "GET" and route.startswith("issues/"):
        key = route.removeprefix("issues/")
        found = state.issues.get(key)
        return _problem(404, f"no issue {key!r}") if found is None else _json(found)
    return _problem(404, f"no control route {method} {PREFIX}{route}")
