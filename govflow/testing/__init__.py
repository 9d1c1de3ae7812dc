"""The GovFlow test kit for plugin and workflow authors.

``make_context`` builds an ``ActionContext``, ``run_action`` runs an action on a ``with:`` block,
``rehearse`` runs a workflow in memory with stubbed action results. The pytest plugin
(``govflow.testing.pytest_plugin``, loaded automatically) adds the ``action_context`` and
``govflow_plugin_manager`` fixtures.
"""

from __future__ import annotations

from govflow.testing.context import make_context
from govflow.testing.rehearsal import SKIP, Rehearsal, RehearsalError, StubResult, rehearse
from govflow.testing.run import decode_inputs, run_action

__all__ = [
    "SKIP",
    "Rehearsal",
    "RehearsalError",
    "StubResult",
    "decode_inputs",
    "make_context",
    "rehearse",
    "run_action",
]
