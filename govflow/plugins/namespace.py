"""The environment variables no plugin may claim: GovFlow's own, and another plugin's.

A plugin named ``hello`` reads its settings from ``GOVFLOW_HELLO_<FIELD>``, the older
``GOVFLOW_PLUGIN_HELLO_<FIELD>`` and the names its ``Env`` markers add. A plugin is refused at load
(set aside as broken, the problem naming the plugin and the variable) when:

- its name puts its settings where GovFlow reads its own: ``plugins`` (``GOVFLOW_PLUGINS_*``, the
  plugin selection), ``secret`` (``GOVFLOW_SECRET_*``, the secrets step templates read),
  ``plugin`` (``GOVFLOW_PLUGIN_*``, the older prefix of every plugin's settings), or any name
  starting with one of these followed by ``_``, ``-`` or ``.``;
- one of its settings is read from a variable GovFlow's own settings read (``DATABASE_URL``,
  ``GOVFLOW_MODE``, ... :func:`govflow.settings.core_variables`) or from one of those prefixes;
- one of its settings is read from a variable a plugin loaded before it reads already.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Final

from govflow.plugins.secrets import ENV_PREFIX as SECRET_PREFIX
from govflow.plugins.settings import LEGACY_PREFIX, PREFIX, env_name

SELECTION_PREFIX: Final = "GOVFLOW_PLUGINS_"
RESERVED_PREFIXES: Final = {
    SELECTION_PREFIX: "the plugin selection",
    SECRET_PREFIX: "the secrets of step templates",
}
"""Prefixes of variables GovFlow reads itself, and what they configure."""


def name_problem(plugin: str) -> str | None:
    """Why ``plugin`` cannot be a plugin's name (its settings would be read from GovFlow's own
    variables), or ``None``."""
    prefix = f"{PREFIX}{env_name(plugin)}_"
    reserved = {**RESERVED_PREFIXES, LEGACY_PREFIX: "the older prefix of every plugin's settings"}
    for taken, purpose in reserved.items():
        if prefix.startswith(taken):
            return (
                f"its settings would be read from {prefix}<FIELD>, where "
                f"GovFlow reads {taken}* ({purpose}); rename the plugin"
            )
    return None


def variable_problems(
    plugin: str,
    variables: Iterable[str],
    core: Collection[str],
    claimed: dict[str, str],
) -> list[str]:
    """The problems of ``plugin`` reading ``variables``, one line each naming the variable.

    :param core: the variables GovFlow's own settings read.
    :param claimed: variable -> plugin, of the plugins checked before; left unchanged.
    """
    problems = []
    for variable in variables:
        if variable in core:
            problems.append(
                f"setting variable {variable} is one of GovFlow's own "
                "settings; read the setting from another variable"
            )
            continue
        taken = next((p for p in RESERVED_PREFIXES if variable.startswith(p)), None)
        if taken is not None:
            problems.append(
                f"setting variable {variable} is in GovFlow's {taken}* "
                f"({RESERVED_PREFIXES[taken]}); read the setting from another variable"
            )
            continue
        owner = claimed.get(variable)
        if owner is not None and owner != plugin:
            problems.append(
                f"setting variable {variable} is read by plugin {owner!r} "
                "already; read the setting from another variable"
            )
    return problems
