"""Which plugins to load and whether to trace hook calls: ``GOVFLOW_PLUGINS_*`` variables.

- ``GOVFLOW_PLUGINS_ALLOW``: comma-separated plugin names; when set, only these are loaded.
- ``GOVFLOW_PLUGINS_BLOCK``: comma-separated plugin names never loaded.
- ``GOVFLOW_PLUGINS_TRACE``: ``1``/``true``/``yes``/``on`` logs every hook call.
- ``GOVFLOW_PLUGINS_MODULES``: comma-separated importable modules registered as plugins without
  packaging (a local plugin under development, or a test plugin); named after the module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ALLOW = "GOVFLOW_PLUGINS_ALLOW"
BLOCK = "GOVFLOW_PLUGINS_BLOCK"
TRACE = "GOVFLOW_PLUGINS_TRACE"
MODULES = "GOVFLOW_PLUGINS_MODULES"

_TRUE = frozenset({"1", "true", "yes", "on"})


def _names(value: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (value or "").split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class PluginSelection:
    """Which entry-point plugins to load.

    :ivar allow: when not ``None``, only these plugin names are loaded.
    :ivar block: plugin names never loaded (wins over ``allow``).
    :ivar trace: log every hook call with its arguments and results.
    :ivar modules: importable modules to register as plugins besides the entry points.
    """

    allow: frozenset[str] | None = None
    block: frozenset[str] = frozenset()
    trace: bool = False
    modules: tuple[str, ...] = ()

    def admits(self, plugin: str) -> bool:
        """Return whether ``plugin`` may be loaded."""
        if plugin in self.block:
            return False
        return self.allow is None or plugin in self.allow

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PluginSelection:
        """Read the ``GOVFLOW_PLUGINS_*`` variables from ``env`` (``os.environ`` at the edge)."""
        allow = _names(env.get(ALLOW)) if env.get(ALLOW, "").strip() else None
        return cls(
            allow=allow,
            block=_names(env.get(BLOCK)),
            trace=env.get(TRACE, "").strip().lower() in _TRUE,
            modules=tuple(part.strip() for part in env.get(MODULES, "").split(",") if part.strip()),
        )
