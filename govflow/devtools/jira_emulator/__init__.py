"""A Jira Cloud REST API v3 emulator for development and tests.

``govflow dev jira-emulator --port N`` serves it; :class:`JiraEmulator` runs it inside a test's
event loop and :class:`JiraEmulatorProcess` as a child process. See ``docs/jira-emulator.md``.

Modules: :mod:`.seed` (the initial accounts, projects, workflows and issues), :mod:`.state` (the
site's data and Jira's checks), :mod:`.render` (Jira's JSON), :mod:`.routes` (the REST routes),
:mod:`.faults` (injected faults), :mod:`.control` (the ``/_emulator/`` API), :mod:`.app` (the
ASGI application), :mod:`.handle` (starting and driving it from Python).
"""

from __future__ import annotations

from govflow.devtools.jira_emulator.app import EmulatorApp, ReceivedRequest
from govflow.devtools.jira_emulator.faults import ActiveFault, Fault, FaultKind
from govflow.devtools.jira_emulator.handle import (
    FaultInjection,
    JiraEmulator,
    JiraEmulatorProcess,
    serve_forever,
)
from govflow.devtools.jira_emulator.seed import (
    DEFAULT_SEED_YAML,
    Seed,
    SeedError,
    default_seed,
    load_seed,
    parse_seed,
)
from govflow.devtools.jira_emulator.state import (
    AppliedTransition,
    Comment,
    Issue,
    JiraError,
    JiraState,
)

__all__ = [
    "DEFAULT_SEED_YAML",
    "ActiveFault",
    "AppliedTransition",
    "Comment",
    "EmulatorApp",
    "Fault",
    "FaultInjection",
    "FaultKind",
    "Issue",
    "JiraEmulator",
    "JiraEmulatorProcess",
    "JiraError",
    "JiraState",
    "ReceivedRequest",
    "Seed",
    "SeedError",
    "default_seed",
    "load_seed",
    "parse_seed",
    "serve_forever",
]
