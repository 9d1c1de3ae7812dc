"""FOREACH_MAX_ITEMS: read from the environment, 1000 by default, refused outside 1 to 10000
naming the variable (at most the ceiling a written list is checked against)."""

from __future__ import annotations

import pytest

from govflow.core.foreach import DEFAULT_FOREACH_MAX_ITEMS, FOREACH_ITEMS_CEILING
from govflow.settings import SettingsError, load_settings


def test_the_default_and_a_value_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(_env_file=None).foreach_max_items == DEFAULT_FOREACH_MAX_ITEMS
    monkeypatch.setenv("FOREACH_MAX_ITEMS", "250")
    assert load_settings(_env_file=None).foreach_max_items == 250


@pytest.mark.parametrize("value", ["0", str(FOREACH_ITEMS_CEILING + 1), "many"])
def test_a_value_outside_the_bounds_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("FOREACH_MAX_ITEMS", value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert [p.split(":", 1)[0] for p in caught.value.problems] == ["FOREACH_MAX_ITEMS"]
