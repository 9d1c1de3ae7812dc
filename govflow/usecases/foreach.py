"""Running the items of a ``foreach`` step (:mod:`govflow.core.foreach`) inside its attempt.

At most ``max_parallel`` items run at once, each through ``run_item``; each item's result is
kept (``ItemResults.keep``, guarded by the step's fencing token) as soon as it ends, so the
attempt that follows a crash or a technical failure runs only the items that have no result.
The first item to fail (by index) stops the others from starting; those already running end
and keep their results, then the failure is raised (:class:`ItemFailed`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from govflow.usecases.ports import ClaimedStep


class ItemResults(Protocol):
    """Where the results of a foreach step's items are kept."""

    async def kept(self, claim: ClaimedStep) -> dict[int, dict[str, Any]]:
        """The outputs of the items of ``claim``'s step that ended, by index."""
        ...

    async def keep(self, claim: ClaimedStep, index: int, output: Any) -> bool:
        """Keep item ``index``'s output while ``claim`` holds the step (``False``: it no longer
        does, nothing kept)."""
        ...


class ItemFailed(Exception):
    """Item ``index`` raised ``cause``: the step ends with it."""

    def __init__(self, index: int, cause: BaseException) -> None:
        super().__init__(f"item {index}: {cause!r}")
        self.index = index
        self.cause = cause


class LeaseLost(Exception):
    """An item's result could not be kept: the step is no longer this attempt's."""


async def run_items(
    items: Sequence[Any],
    max_parallel: int,
    kept: Mapping[int, Mapping[str, Any]],
    run_item: Callable[[int, Any], Awaitable[Mapping[str, Any]]],
    keep: Callable[[int, Mapping[str, Any]], Awaitable[bool]],
) -> list[Mapping[str, Any]]:
    """The outputs of ``items`` in order: those in ``kept`` as they are, the others from
    ``run_item`` (``max_parallel`` at once), each kept as it ends.

    :raises ItemFailed: the item of the lowest index that failed.
    :raises LeaseLost: a result could not be kept.
    """
    outputs: dict[int, Mapping[str, Any]] = dict(kept)
    pending = iter([i for i in range(len(items)) if i not in outputs])
    failures: dict[int, BaseException] = {}
    lost: list[int] = []

    async def lane() -> None:
        for index in pending:
            if failures or lost:
                return
            try:
                output = await run_item(index, items[index])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the step decides what it means
                failures[index] = exc
                return
            if not await keep(index, output):
                lost.append(index)
                return
            outputs[index] = output

    await asyncio.gather(*(lane() for _ in range(max(1, min(max_parallel, len(items))))))
    if lost:
        raise LeaseLost(f"the result of item {lost[0]} could not be kept")
    if failures:
        first = min(failures)
        raise ItemFailed(first, failures[first])
    return [outputs[i] for i in range(len(items))]


class MemoryItemResults:
    """Item results kept in memory, for one process (tests, rehearsals): nothing survives it."""

    def __init__(self) -> None:
        self._results: dict[tuple[Any, int], dict[str, Any]] = {}

    async def kept(self, claim: ClaimedStep) -> dict[int, dict[str, Any]]:
        return {i: out for (step, i), out in self._results.items() if step == claim.step_id}

    async def keep(self, claim: ClaimedStep, index: int, output: Any) -> bool:
        self._results.setdefault((claim.step_id, index), dict(output))
        return True
