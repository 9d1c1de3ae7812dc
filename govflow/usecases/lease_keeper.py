"""A step's lease kept alive while its action runs in the calling task.

The action runs in the worker's own task (no task of its own per step: one task and one turn of
the event loop fewer per step); a timer renews the lease every ``every`` seconds beside it. A
renewal that finds the lease taken over (or fails) cancels the calling task, and leaving the
block raises why, so the action's result is never reported under a lease it lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType

from govflow.plugins import TechnicalError

LEASE_LOST = "the step's lease was taken over by a recovery"


class LeaseKeeper:
    """``async with LeaseKeeper(renew, every): await work`` renews while ``work`` runs.

    :param renew: renews the lease; ``False`` when it was taken over.
    :param every: seconds between renewals.
    """

    def __init__(self, renew: Callable[[], Awaitable[bool]], every: float) -> None:
        self._renew = renew
        self._every = every
        self._task: asyncio.Task[object] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._renewal: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._canceled = False

    async def __aenter__(self) -> LeaseKeeper:
        self._task = asyncio.current_task()
        self._schedule()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        renewal = self._renewal
        if renewal is not None and not renewal.done():
            renewal.cancel()
            with contextlib.suppress(BaseException):
                await renewal
        if self._failure is None:
            return
        assert self._task is not None
        pending = self._task.uncancel() if self._canceled else self._task.cancelling()
        if not pending:  # else the worker itself is being stopped too: let that cancellation by
            raise self._failure

    def _schedule(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._every, self._due)

    def _due(self) -> None:
        self._renewal = asyncio.get_running_loop().create_task(self._renewed())

    async def _renewed(self) -> None:
        try:
            alive = await self._renew()
        except Exception as exc:  # the database is unreachable: the attempt ends with this
            self._failure = exc
        else:
            if alive:
                self._schedule()
                return
            self._failure = TechnicalError(LEASE_LOST)
        if self._task is not None and not self._task.done():
            self._canceled = True
            self._task.cancel()
