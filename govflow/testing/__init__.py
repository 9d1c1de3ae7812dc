"""The GovFlow test kit for plugin and workflow authors.

``make_context`` builds an ``ActionContext``, ``make_settings`` a plugin's typed settings as the
host reads them, ``started_plugin`` loads, configures and starts a plugin as a host would,
``run_action`` runs an action on a ``with:`` block (``check_output`` checks what it returned
against the action's declared output Struct), ``rehearse`` runs a workflow in memory with
stubbed action results, and ``scheduled_slots``, ``webhook_inputs`` and ``signed_headers``
rehearse its triggers (:mod:`govflow.testing.triggers`). The pytest plugin
(``govflow.testing.pytest_plugin``, loaded automatically) adds the ``action_context`` and
``govflow_plugin_manager`` fixtures.
"""

from __future__ import annotations

from govflow.plugins.settings import make_settings
from govflow.testing.context import make_context
from govflow.testing.rehearsal import SKIP, Rehearsal, RehearsalError, StubResult, rehearse
from govflow.testing.run import check_output, decode_inputs, run_action
from govflow.testing.started import StartedPlugin, raise_for_broken, started_plugin
from govflow.testing.triggers import NoTrigger, scheduled_slots, signed_headers, webhook_inputs

__all__ = [
    "SKIP",
    "NoTrigger",
    "Rehearsal",
    "RehearsalError",
    "StartedPlugin",
    "StubResult",
    "check_output",
    "decode_inputs",
    "make_context",
    "make_settings",
    "raise_for_broken",
    "rehearse",
    "run_action",
    "scheduled_slots",
    "signed_headers",
    "started_plugin",
    "webhook_inputs",
]
