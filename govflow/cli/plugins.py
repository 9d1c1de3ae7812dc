"""``govflow plugins``: what plugins and actions this installation offers, and their settings."""

from __future__ import annotations

import os
from collections.abc import Sequence

import click
import msgspec

from govflow.plugins import PluginInfo, PluginManager
from govflow.plugins.settings import plugin_environment


def _input_summary(schema: dict[str, object]) -> str:
    """``title*, description, assignee*`` from an inputs JSON Schema (``*``: required)."""
    ref = schema.get("$ref")
    defs = schema.get("$defs")
    if isinstance(ref, str) and isinstance(defs, dict):
        schema = defs.get(ref.rsplit("/", 1)[-1], schema)
    properties = schema.get("properties")
    required = schema.get("required")
    if not isinstance(properties, dict):
        return ""
    needed = set(required) if isinstance(required, list) else set()
    return ", ".join(f"{name}{'*' if name in needed else ''}" for name in properties)


def _columns(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _table(plugins: list[PluginInfo]) -> str:
    rows = [("PLUGIN", "VERSION", "ACTION", "IDEMPOTENCY", "INPUTS (* required)")]
    for plugin in plugins:
        version = plugin.version or "-"
        if plugin.broken:
            rows.append((plugin.name, version, "-", "BROKEN", "-"))
        elif not plugin.actions:
            rows.append((plugin.name, version, "-", "-", "-"))
        for action in plugin.actions:
            strategy = action.idempotency + (" (per step)" if action.refines_idempotency else "")
            inputs = _input_summary(action.inputs_schema)
            rows.append((plugin.name, version, action.name, strategy, inputs))
    lines = _columns(rows)
    settings = [("PLUGIN", "VARIABLE", "TYPE", "DEFAULT", "VALUE")]
    for plugin in plugins:
        for setting in plugin.settings:
            settings.append(
                (
                    plugin.name,
                    setting.variable,
                    setting.type
                    + (" (secret)" if setting.secret and setting.type != "secret" else ""),
                    "(required)" if setting.required else setting.default or "-",
                    "-" if setting.value is None else setting.value,
                )
            )
    if len(settings) > 1:
        lines += ["", *_columns(settings)]
    broken = [(plugin.name, problem) for plugin in plugins for problem in plugin.broken]
    if broken:
        lines += ["", "BROKEN PLUGINS (not loaded; their actions are unavailable)"]
        lines += [f"{name}: {problem}" for name, problem in broken]
    return "\n".join(lines)


@click.group("plugins")
def command() -> None:
    """Inspect the installed plugins, their actions and their settings."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Full output with input JSON Schemas.")
def list_plugins(as_json: bool) -> None:
    """List every plugin, its version, its actions, their idempotency and inputs, its settings
    (secrets masked) and the plugins that are broken, with why.

    Honours GOVFLOW_PLUGINS_ALLOW, GOVFLOW_PLUGINS_BLOCK, GOVFLOW_PLUGINS_MODULES and
    GOVFLOW_PLUGINS_TRACE; settings are read like a server reads them (the environment over
    .env).
    """
    env = plugin_environment(os.environ)
    plugins = PluginManager.from_env(env).plugin_info(env)
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode({"plugins": plugins}), indent=2))
    else:
        click.echo(_table(plugins))
