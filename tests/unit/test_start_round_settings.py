"""START_ROUND_MAX_WAIT_US and START_ROUND_MAX_ROWS: read from the environment, 200 us and 64
rows by default, refused outside their bounds naming the variable; one row means no rounds."""

from __future__ import annotations

import pytest

from govflow.settings import SettingsError, load_settings


def test_the_defaults_and_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(_env_file=None)
    assert (settings.start_round_max_wait_us, settings.start_round_max_rows) == (200, 64)
    monkeypatch.setenv("START_ROUND_MAX_WAIT_US", "0")
    monkeypatch.setenv("START_ROUND_MAX_ROWS", "1")
    settings = load_settings(_env_file=None)
    assert (settings.start_round_max_wait_us, settings.start_round_max_rows) == (0, 1)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("START_ROUND_MAX_WAIT_US", "-1"),
        ("START_ROUND_MAX_WAIT_US", "100001"),
        ("START_ROUND_MAX_ROWS", "0"),
        ("START_ROUND_MAX_ROWS", "1001"),
        ("START_ROUND_MAX_ROWS", "many"),
    ],
)
def test_a_value_outside_the_bounds_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert [p.split(":", 1)[0] for p in caught.value.problems] == [name]
