"""Rehearsing a workflow's triggers: which slots a schedule fires, what a webhook delivery
starts, and a delivery's signed headers, all without a server::

    scheduled_slots(text, since, until)           # [datetime, ...] in UTC
    webhook_inputs(text, {"permit": {"id": "P-1"}})  # the execution's inputs, checked
    signed_headers("secret", "d-1", body, now)    # the three X-GovFlow-* headers

Both readers validate the file first (``SpecError`` as ``govflow workflows validate`` reports
it); ``webhook_inputs`` raises ``InputError`` naming the input as the endpoint's 422 does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from govflow.core.inputs import validate_execution_inputs
from govflow.core.schedule import next_slot
from govflow.core.spec import WorkflowSpec
from govflow.core.validation import validate_workflow
from govflow.core.webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    map_body,
    signature,
)
from govflow.plugins import PluginManager


class NoTrigger(LookupError):
    """The workflow declares no trigger of that kind."""


def _spec(workflow_yaml: str, actions: Mapping[str, type[msgspec.Struct]] | None) -> WorkflowSpec:
    types = actions if actions is not None else PluginManager.from_env({}).actions().inputs()
    return validate_workflow(workflow_yaml, "rehearsal.yaml", types)


def scheduled_slots(
    workflow_yaml: str,
    since: datetime,
    until: datetime,
    *,
    actions: Mapping[str, type[msgspec.Struct]] | None = None,
    limit: int = 1000,
    entry: int | None = None,
) -> list[datetime]:
    """The slots of the workflow's schedule after ``since`` and at or before ``until`` (UTC,
    at most ``limit``). With a list of schedules: those of entry ``entry`` (its index), or
    without it those of every entry, merged in time order.

    :raises NoTrigger: the workflow has no schedule (or no such entry).
    """
    spec = _spec(workflow_yaml, actions)
    entries = spec.triggers.schedules() if spec.triggers is not None else []
    chosen = [s for index, s in entries if entry is None or index == entry]
    if not chosen:
        raise NoTrigger(
            "the workflow has no triggers.schedule"
            if entry is None
            else f"the workflow has no triggers.schedule[{entry}]"
        )
    slots: list[datetime] = []
    for schedule in chosen:
        slot = next_slot(schedule, since)
        while slot is not None and slot <= until and len(slots) < limit * len(chosen):
            slots.append(slot)
            slot = next_slot(schedule, slot)
    return sorted(slots)[:limit]


def webhook_inputs(
    workflow_yaml: str,
    body: Any,
    *,
    actions: Mapping[str, type[msgspec.Struct]] | None = None,
) -> dict[str, Any]:
    """The inputs a delivery of ``body`` (decoded JSON) starts an execution with.

    :raises NoTrigger: the workflow has no webhook.
    :raises DeliveryRefused: the body is not an object and no mapping is declared.
    :raises InputError: the mapped inputs do not fit the workflow's ``inputs``.
    """
    spec = _spec(workflow_yaml, actions)
    if spec.triggers is None or spec.triggers.webhook is None:
        raise NoTrigger("the workflow has no triggers.webhook")
    return validate_execution_inputs(spec, map_body(spec.triggers.webhook, body))


def signed_headers(secret: str, delivery: str, body: bytes, now: datetime) -> dict[str, str]:
    """The headers of a delivery of ``body`` sent at ``now``, signed with ``secret``."""
    stamp = str(int(now.timestamp()))
    return {
        DELIVERY_HEADER: delivery,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature(secret, delivery, stamp, body),
        "Content-Type": "application/json",
    }
