"""Group commit: the calls of one process that arrive together go to the database as one round.

Callers :meth:`GroupCommit.submit` an item and await its result. The first item of a round opens
it; the round stays open while the event loop has other callers ready to join (each pass of the
loop that adds an item keeps it open), and closes when a pass adds nothing, when it holds
``max_items``, or ``max_wait`` seconds after it opened, whichever comes first. A caller alone
therefore waits one pass of the event loop, never longer than ``max_wait``. The round is then
sent by ``send`` (one statement for all its items); meanwhile the next round forms, and up to
``max_in_flight`` rounds are sent at once.

``send`` answers each item by position, with its result or the exception that item alone met:
one item's failed guard or bad value is that item's answer, never its neighbours'. Two items
with the same ``key`` (one execution, one idempotency key) never share a round: the later one
waits for the next. With ``max_in_flight`` above 1 that next round may be sent while the first
is still being written, so the two may be carried out in either order; a caller whose items of
one key must be carried out in the order they came (the starts: the first start of a key must
win it) sends one round at a time. The steps' rounds need no order: the items of one key are a
graph's branches, each guarded on its own, as when each was its own statement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class RoundBounds:
    """How a round closes and how many go at once (the ``STEP_ROUND_*`` and ``START_ROUND_*``
    settings)."""

    max_wait: float = 0.0002
    """Seconds a round stays open at most while more callers keep joining it."""
    max_items: int = 64
    """Items a round holds at most."""
    max_in_flight: int = 2
    """Rounds being sent at once; the next ones form meanwhile."""


@dataclass(slots=True)
class _Waiting(Generic[T, R]):
    item: T
    key: Hashable
    answer: asyncio.Future[R]


@dataclass
class GroupCommit(Generic[T, R]):
    """Collects the items submitted together into rounds and sends each round at once."""

    send: Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]
    key: Callable[[T], Hashable]
    bounds: RoundBounds = field(default_factory=RoundBounds)
    observe: Callable[[int], None] | None = None
    """Told the number of items of each round sent (a metric)."""
    rounds: int = 0
    """Rounds sent so far (for tests and metrics)."""
    items: int = 0
    """Items sent so far."""
    _waiting: list[_Waiting[T, R]] = field(default_factory=list)
    _collector: asyncio.Task[None] | None = None
    _sending: set[asyncio.Task[None]] = field(default_factory=set)
    _slots: asyncio.Semaphore | None = None

    async def submit(self, item: T) -> R:
        """``item``'s result, once the round it joined is sent (its exception re-raised)."""
        answer: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(item, self.key(item), answer))
        if self._collector is None or self._collector.done():
            self._collector = asyncio.create_task(self._collect())
        return await answer

    async def _collect(self) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.bounds.max_in_flight)
        loop = asyncio.get_running_loop()
        while self._waiting:
            await self._slots.acquire()
            closes_at = loop.time() + self.bounds.max_wait
            seen = -1
            while len(self._waiting) != seen and len(self._waiting) < self.bounds.max_items:
                seen = len(self._waiting)
                await asyncio.sleep(0)  # one pass: the callers ready now join this round
                if loop.time() >= closes_at:
                    break
            members = self._take()
            if not members:
                self._slots.release()
                continue
            if not self._waiting:  # the last round for now: this task sends it itself
                await self._send_last(members)
                return
            task = asyncio.create_task(self._send(members))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send_last(self, members: list[_Waiting[T, R]]) -> None:
        """Send the round formed last from the collector's own task (a lone caller pays no
        second task); a caller arriving meanwhile starts the next collector."""
        this = asyncio.current_task()
        assert this is not None
        self._collector = None
        self._sending.add(this)
        try:
            await self._send(members)
        finally:
            self._sending.discard(this)

    def _take(self) -> list[_Waiting[T, R]]:
        """This round's members: the first ``max_items`` callers still waiting, one per key."""
        members: list[_Waiting[T, R]] = []
        keys: set[Hashable] = set()
        later: list[_Waiting[T, R]] = []
        for waiting in self._waiting:
            if waiting.answer.done():  # its caller was canceled before the round was sent
                continue
            if waiting.key in keys or len(members) >= self.bounds.max_items:
                later.append(waiting)
                continue
            keys.add(waiting.key)
            members.append(waiting)
        self._waiting = later
        return members

    async def _send(self, members: list[_Waiting[T, R]]) -> None:
        assert self._slots is not None
        try:
            self.rounds += 1
            self.items += len(members)
            if self.observe is not None:
                self.observe(len(members))
            try:
                answers = await self.send([m.item for m in members])
            except BaseException as exc:  # the round as a whole failed: each caller hears it
                for member in members:
                    if not member.answer.done():
                        member.answer.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                return
            for member, answer in zip(members, answers, strict=True):
                if member.answer.done():
                    continue
                if isinstance(answer, BaseException):
                    member.answer.set_exception(answer)
                else:
                    member.answer.set_result(answer)
        finally:
            self._slots.release()

    async def close(self) -> None:
        """Wait for the rounds being formed and sent."""
        if self._collector is not None:
            await asyncio.gather(self._collector, return_exceptions=True)
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
