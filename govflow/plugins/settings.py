"""Per-plugin settings, read from ``GOVFLOW_PLUGIN_<NAME>_<KEY>`` variables.

``GOVFLOW_PLUGIN_NOTIFICATION_SMTP_HOST=mail.example`` gives the ``notification`` plugin the
setting ``smtp_host``. Plugin names are matched longest first, so a plugin named ``jira_cloud``
wins over ``jira`` for ``GOVFLOW_PLUGIN_JIRA_CLOUD_URL``. Keys are lowercased.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

PREFIX = "GOVFLOW_PLUGIN_"


def env_name(plugin: str) -> str:
    """Return the upper-case form of a plugin name used in variable names."""
    return plugin.upper().replace("-", "_").replace(".", "_")


@dataclass(frozen=True, slots=True)
class PluginSettings(Mapping[str, Mapping[str, str]]):
    """Settings by plugin name; a plugin with no variables has an empty mapping."""

    by_plugin: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def for_plugin(self, plugin: str) -> Mapping[str, str]:
        """Return the settings of ``plugin`` (empty when it has none)."""
        return self.by_plugin.get(plugin, MappingProxyType({}))

    def __getitem__(self, plugin: str) -> Mapping[str, str]:
        return self.by_plugin[plugin]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_plugin)

    def __len__(self) -> int:
        return len(self.by_plugin)

    @classmethod
    def from_env(cls, env: Mapping[str, str], plugins: Iterable[str]) -> PluginSettings:
        """Collect ``GOVFLOW_PLUGIN_<NAME>_<KEY>`` variables for the given plugin names.

        :param env: the environment (pass ``os.environ`` at the edge).
        :param plugins: the names of the loaded plugins.
        """
        names = sorted(plugins, key=lambda name: len(env_name(name)), reverse=True)
        collected: dict[str, dict[str, str]] = {name: {} for name in names}
        for variable, value in env.items():
            if not variable.startswith(PREFIX):
                continue
            rest = variable[len(PREFIX) :]
            for name in names:
                head = env_name(name) + "_"
                if rest.startswith(head) and len(rest) > len(head):
                    collected[name][rest[len(head) :].lower()] = value
                    break
        return cls({name: MappingProxyType(values) for name, values in collected.items()})
