"""``make_context``: an ``ActionContext`` for tests, with deterministic defaults."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

import httpx

from govflow.plugins import ActionContext, NoSettings

EXECUTION_ID = UUID(int=1)
STEP_ID = UUID(int=2)


def make_context(**overrides: Any) -> ActionContext:
    """Return an ``ActionContext`` for a first attempt of step ``step`` of a test execution.

    ``ctx.http`` is a plain ``httpx.AsyncClient`` unless ``http=`` gives one (pass a client with
    an ``httpx.MockTransport``, or one you close, to control it); ``settings`` is
    ``NoSettings()`` and ``resources`` ``None`` unless given.

    :param overrides: any ``ActionContext`` field, e.g.
        ``settings=make_settings(HelloSettings, greeting="Hi")``, ``attempt=2``,
        ``resources=HelloResources(client)`` or ``http=client``.
    """
    fields: dict[str, Any] = {
        "execution_id": EXECUTION_ID,
        "step_id": STEP_ID,
        "step_key": "step",
        "attempt": 1,
        "idempotency_key": f"{overrides.get('execution_id', EXECUTION_ID)}:"
        f"{overrides.get('step_key', 'step')}",
        "settings": NoSettings(),
        "logger": logging.getLogger("govflow.action.test"),
        "resources": None,
    }
    known = set(fields) | set(ActionContext.__dataclass_fields__)
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"ActionContext has no field(s) {', '.join(sorted(unknown))}")
    fields.update(overrides)
    if fields.get("http") is None:
        fields["http"] = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
    return ActionContext(**fields)
