"""``make_context``: an ``ActionContext`` for tests, with deterministic defaults."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from govflow.plugins import ActionContext

EXECUTION_ID = UUID(int=1)
STEP_ID = UUID(int=2)


def make_context(**overrides: Any) -> ActionContext:
    """Return an ``ActionContext`` for a first attempt of step ``step`` of a test execution.

    :param overrides: any ``ActionContext`` field, e.g. ``settings={"smtp_host": "..."}``,
        ``attempt=2`` or ``extras={"jira": fake_client}``.
    """
    fields: dict[str, Any] = {
        "execution_id": EXECUTION_ID,
        "step_id": STEP_ID,
        "step_key": "step",
        "attempt": 1,
        "idempotency_key": f"{overrides.get('execution_id', EXECUTION_ID)}:"
        f"{overrides.get('step_key', 'step')}",
        "settings": {},
        "logger": logging.getLogger("govflow.action.test"),
        "http": None,
        "extras": {},
    }
    unknown = set(overrides) - set(fields)
    if unknown:
        raise TypeError(f"ActionContext has no field(s) {', '.join(sorted(unknown))}")
    fields.update(overrides)
    return ActionContext(**fields)
