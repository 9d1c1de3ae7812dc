"""``OUTBOUND_ALLOW_NETWORKS`` is read as comma-separated networks and checked at start."""

from __future__ import annotations

import pytest

from govflow.settings import SettingsError, load_settings


def test_networks_are_split_and_kept() -> None:
    settings = load_settings(
        outbound_allow_networks="10.20.0.0/16, 127.0.0.1/32,fd00::/8", _env_file=None
    )
    assert settings.outbound_allow_networks == ["10.20.0.0/16", "127.0.0.1/32", "fd00::/8"]
    assert load_settings(outbound_allow_networks="", _env_file=None).outbound_allow_networks == []


@pytest.mark.parametrize("value", ["10.0.0.0/33", "intranet", "10.0.0.0/8,localhost"])
def test_a_malformed_network_names_the_variable(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(outbound_allow_networks=value, _env_file=None)
    (problem,) = caught.value.problems
    assert problem.startswith("OUTBOUND_ALLOW_NETWORKS: ")
    assert "is not an IP network" in problem
