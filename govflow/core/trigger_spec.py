"""The ``triggers:`` block of a workflow: what starts an execution without a person asking.

- ``schedule`` — a cron expression (five fields, or six with seconds first) read in a time
  zone, or a list of such entries; one execution per slot of each entry however many
  schedulers run (:mod:`govflow.core.schedule`);
- ``webhook`` — an inbound URL, ``POST /webhooks/<workflow>``, signed with HMAC-SHA256 under
  a secret; the JSON body is mapped to the inputs (:mod:`govflow.core.webhook`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from govflow.core.secrets import SECRET_NAME_PATTERN

InputName = Annotated[str, msgspec.Meta(max_length=64)]
BODY_PATH_PATTERN = r"^body(\.[A-Za-z0-9_-]{1,64}){0,16}$"
"""Where in the JSON body an input is read: ``body``, ``body.issue.key``, ``body.items.0``."""


CatchUp = Literal["none", "latest", "all"]
"""What a schedule does with the slots that passed while no scheduler ran: ``none`` skips them
(audited as missed), ``latest`` fires the most recent of them once and skips the others,
``all`` fires each of them, oldest first (at most
:data:`~govflow.core.schedule.MAX_CATCH_UP`)."""


class ScheduleTrigger(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Start an execution at each slot of a cron expression."""

    cron: Annotated[
        str,
        msgspec.Meta(
            max_length=200,
            description="A cron expression: minute hour day month weekday, or six fields with "
            "seconds first ('*/10 * * * * *').",
        ),
    ]
    timezone: Annotated[
        str,
        msgspec.Meta(max_length=64, description="An IANA time zone the cron is read in."),
    ] = "UTC"
    catch_up: CatchUp = "latest"
    inputs: dict[InputName, Any] = msgspec.field(default_factory=dict)
    """The inputs of every execution it starts (checked against the workflow's ``inputs``)."""


class WebhookTrigger(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Start an execution for each signed delivery to ``POST /webhooks/<workflow>``."""

    secret: Annotated[
        str,
        msgspec.Meta(
            pattern=SECRET_NAME_PATTERN,
            description="The name of the secret the deliveries are signed with "
            "(GOVFLOW_SECRET_<NAME>, or a plugin's secret provider).",
        ),
    ]
    inputs: dict[InputName, Annotated[str, msgspec.Meta(pattern=BODY_PATH_PATTERN)]] | None = None
    """Input name -> where in the body its value is (``body.issue.key``); without it, the
    body's top-level keys are the inputs."""


MAX_SCHEDULES = 20
"""The most entries ``triggers.schedule`` may list."""


class Triggers(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What starts the workflow's executions besides a person or a parent workflow."""

    schedule: (
        ScheduleTrigger
        | Annotated[list[ScheduleTrigger], msgspec.Meta(min_length=1, max_length=MAX_SCHEDULES)]
        | None
    ) = None
    """One schedule, or a list of them (each fired on its own, with its own bookmark)."""
    webhook: WebhookTrigger | None = None

    def schedules(self) -> list[tuple[int | None, ScheduleTrigger]]:
        """Each schedule with its entry: its index in the list, ``None`` for the single-entry
        form (a mapping)."""
        if self.schedule is None:
            return []
        if isinstance(self.schedule, ScheduleTrigger):
            return [(None, self.schedule)]
        return list(enumerate(self.schedule))
