"""Fleet awareness: which worker offers which actions, and steps a worker cannot run.

Each worker records itself when it starts (:class:`FleetMember`: its id, host, process, the
plugins it loaded with their versions and the actions they provide) and refreshes a heartbeat
every :data:`BEAT_EVERY`; a worker whose heartbeat is older than :data:`LIVE_WITHIN` counts as
gone. A worker that claims a step whose action it lacks hands the step back (the engine's
``ActionUnavailable``: see :func:`govflow.core.engine.decide`), and ``govflow workflows load`` /
``POST /workflows`` warn about the actions of a workflow that no live worker offers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Protocol

import msgspec

from govflow.usecases.audit import AuditEntry
from govflow.usecases.ports import ClaimedStep

BEAT_EVERY = timedelta(seconds=10)
"""How often a worker refreshes its heartbeat row."""
LIVE_WITHIN = timedelta(seconds=30)
"""A worker whose heartbeat is older than this counts as gone."""


class FleetMember(msgspec.Struct, frozen=True, kw_only=True):
    """A worker process as the fleet knows it."""

    id: str
    hostname: str
    pid: int
    plugins: Mapping[str, str]
    """Plugin name -> version."""
    actions: tuple[str, ...]


class Fleet(Protocol):
    """The workers table, and handing steps back to it."""

    async def join(self, member: FleetMember) -> None:
        """Record (or refresh) ``member`` with a heartbeat of now."""
        ...

    async def beat(self, worker_id: str) -> None:
        """Refresh the worker's heartbeat."""
        ...

    async def leave(self, worker_id: str) -> None:
        """The worker stops: forget it."""
        ...

    async def live_actions(self, within: timedelta = LIVE_WITHIN) -> set[str] | None:
        """The actions some live worker offers; ``None`` when no worker is live at all."""
        ...

    async def offered_elsewhere(
        self, action: str, worker_id: str, within: timedelta = LIVE_WITHIN
    ) -> bool:
        """Whether a live worker other than ``worker_id`` offers ``action``."""
        ...

    async def handbacks(self, claim: ClaimedStep) -> int:
        """How many times the claimed step was handed back before."""
        ...

    async def hand_back(
        self, claim: ClaimedStep, delay: timedelta, audit: Sequence[AuditEntry]
    ) -> bool:
        """Release the claimed step, unstarted, to ``PENDING`` claimable after ``delay`` (the
        claim's attempt uncounted, its attempt row closed ``HANDED_BACK``), with ``audit``;
        False: the token is no longer current."""
        ...


def unoffered(actions: Iterable[str], live: set[str] | None) -> list[str]:
    """The actions among ``actions`` no live worker offers, sorted (all of them when no worker
    is live)."""
    wanted = set(actions)
    return sorted(wanted if live is None else wanted - live)


def unoffered_warning(actions: Sequence[str], live: set[str] | None) -> str | None:
    """The warning a load gives for the actions no live worker offers (``None``: all offered)."""
    missing = unoffered(actions, live)
    if not missing:
        return None
    names = ", ".join(missing)
    if live is None:
        return f"no live worker: nothing will run the actions {names} until a worker starts"
    return (
        f"no live worker offers the action(s) {names}: install the plugin providing them on the "
        "workers and restart them, or the steps will be handed back and finally fail"
    )
