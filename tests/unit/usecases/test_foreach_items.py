"""run_items: at most max_parallel items at once, outputs in index order whatever order they end
in, kept items not run again, the first failure stops new items and is raised by index."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from govflow.core.foreach import foreach_items, item_key
from govflow.usecases.foreach import ItemFailed, LeaseLost, run_items


class Items:
    def __init__(self, fail: frozenset[int] = frozenset(), keep: bool = True) -> None:
        self.running = 0
        self.most = 0
        self.ran: list[int] = []
        self.kept: dict[int, Mapping[str, Any]] = {}
        self.fail = fail
        self.keeps = keep

    async def run(self, index: int, item: Any) -> Mapping[str, Any]:
        self.running += 1
        self.most = max(self.most, self.running)
        self.ran.append(index)
        try:
            for _ in range(5 - index % 5):  # later items end earlier
                await asyncio.sleep(0)
            if index in self.fail:
                raise ValueError(f"bad {item}")
            return {"item": item}
        finally:
            self.running -= 1

    async def keep(self, index: int, output: Mapping[str, Any]) -> bool:
        self.kept[index] = output
        return self.keeps


@pytest.mark.parametrize("max_parallel", [1, 3, 10])
async def test_at_most_max_parallel_run_at_once_and_outputs_keep_their_order(
    max_parallel: int,
) -> None:
    items = Items()
    outputs = await run_items(list("abcdefg"), max_parallel, {}, items.run, items.keep)
    assert outputs == [{"item": x} for x in "abcdefg"]
    assert items.most == min(max_parallel, 7)
    assert sorted(items.ran) == list(range(7))
    assert sorted(items.kept) == list(range(7))


async def test_kept_items_are_not_run_again() -> None:
    items = Items()
    kept = {0: {"item": "kept a"}, 2: {"item": "kept c"}}
    outputs = await run_items(list("abcd"), 2, kept, items.run, items.keep)
    assert sorted(items.ran) == [1, 3]
    assert outputs == [{"item": "kept a"}, {"item": "b"}, {"item": "kept c"}, {"item": "d"}]


async def test_the_first_failure_stops_new_items_and_is_raised_by_index() -> None:
    items = Items(fail=frozenset({1, 2}))
    with pytest.raises(ItemFailed) as caught:
        await run_items(list("abcdefgh"), 3, {}, items.run, items.keep)
    assert caught.value.index == 1
    assert str(caught.value.cause) == "bad b"
    assert 7 not in items.ran
    assert sorted(items.kept) == [0]  # the items that ended kept their results


async def test_a_result_that_cannot_be_kept_means_the_lease_is_lost() -> None:
    items = Items(keep=False)
    with pytest.raises(LeaseLost):
        await run_items(list("abc"), 1, {}, items.run, items.keep)
    assert items.ran == [0]


def test_the_list_is_checked_before_any_item_runs() -> None:
    assert foreach_items([1, 2], 2) == [1, 2]
    too_many = foreach_items([1, 2, 3], 2)
    assert not isinstance(too_many, list)
    assert (too_many.code, too_many.details) == ("FOREACH_TOO_MANY_ITEMS", {"items": 3, "limit": 2})
    for value, kind in [(None, "nothing"), ("abc", "str"), ({"a": 1}, "dict"), (3, "int")]:
        refused = foreach_items(value, 10)
        assert not isinstance(refused, list)
        assert refused.message == f"foreach must give a list, it gave {kind}"
    assert item_key("consult", 3) == "consult[3]"
