"""One order of the steps of a graph that respects their needs (pure)."""

from __future__ import annotations

import heapq
from collections.abc import Sequence


def dependency_order(needs: Sequence[Sequence[int]]) -> list[int]:
    """The positions ``0..len(needs)-1``, each after every position it needs, the lowest first
    among those that may come next (so a list, each step needing the one before, keeps its
    order); positions on a cycle are left out (validation refuses cycles)."""
    left = [len(wanted) for wanted in needs]
    dependents: list[list[int]] = [[] for _ in needs]
    for position, wanted in enumerate(needs):
        for need in wanted:
            dependents[need].append(position)
    ready = [position for position, count in enumerate(left) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        position = heapq.heappop(ready)
        order.append(position)
        for dependent in dependents[position]:
            left[dependent] -= 1
            if left[dependent] == 0:
                heapq.heappush(ready, dependent)
    return order
