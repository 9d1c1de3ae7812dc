"""One order of a graph's steps that respects their needs."""

from __future__ import annotations

from govflow.core.topology import dependency_order


def test_a_list_keeps_its_order() -> None:
    assert dependency_order([(), (0,), (1,), (2,)]) == [0, 1, 2, 3]


def test_each_step_comes_after_every_step_it_needs_even_one_written_later() -> None:
    # 0 needs 2; 1 needs nothing; 3 needs 0 and 1
    assert dependency_order([(2,), (), (), (0, 1)]) == [1, 2, 0, 3]


def test_the_lowest_position_goes_first_among_the_steps_that_may() -> None:
    assert dependency_order([(), (), (0, 1), (), (3,)]) == [0, 1, 2, 3, 4]


def test_steps_on_a_cycle_are_left_out() -> None:
    assert dependency_order([(), (2,), (1,), (0,)]) == [0, 3]
