"""The plugin's settings (``GOVFLOW_PLUGIN_NOTIFICATION_<KEY>``), read and checked.

A malformed value is a ``BusinessError`` naming its variable: a retry cannot fix it.
"""

from __future__ import annotations

from collections.abc import Mapping

from govflow.core.destinations import DestinationAllowlist
from govflow.plugins import BusinessError

SETTING = "GOVFLOW_PLUGIN_NOTIFICATION_"
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"", "0", "false", "no", "off"})


def variable(key: str) -> str:
    """The environment variable of setting ``key``."""
    return f"{SETTING}{key.upper()}"


def flag(settings: Mapping[str, str], key: str) -> bool:
    """A true/false setting (false when unset)."""
    value = settings.get(key, "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise BusinessError(f"{variable(key)} must be true or false, not {settings[key]!r}")


def number(settings: Mapping[str, str], key: str, default: float) -> float:
    """A positive number setting."""
    raw = settings.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise BusinessError(f"{variable(key)} must be a positive number, not {raw!r}")
    return value


def tcp_port(settings: Mapping[str, str], key: str, default: int) -> int:
    """A TCP port setting."""
    raw = settings.get(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise BusinessError(f"{variable(key)} must be a TCP port, not {raw!r}")
    return int(raw)


def allowlist(settings: Mapping[str, str], key: str) -> DestinationAllowlist:
    """A comma-separated destination allowlist (empty when unset: nothing is allowed)."""
    try:
        return DestinationAllowlist.parse(settings.get(key, "").split(","))
    except ValueError as exc:
        raise BusinessError(f"{variable(key)}: {exc}") from None
