"""``govflow plugins``: what plugins and actions this installation offers."""

from __future__ import annotations

import os

import click
import msgspec

from govflow.plugins import PluginError, PluginInfo, PluginManager


def _manager() -> PluginManager:
    try:
        return PluginManager.from_env(os.environ)
    except PluginError as exc:
        raise click.ClickException(str(exc)) from exc


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


def _table(plugins: list[PluginInfo]) -> str:
    rows = [("PLUGIN", "VERSION", "ACTION", "IDEMPOTENCY", "INPUTS (* required)")]
    for plugin in plugins:
        version = plugin.version or "-"
        if not plugin.actions:
            rows.append((plugin.name, version, "-", "-", "-"))
        for action in plugin.actions:
            strategy = action.idempotency + (" (per step)" if action.refines_idempotency else "")
            inputs = _input_summary(action.inputs_schema)
            rows.append((plugin.name, version, action.name, strategy, inputs))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


@click.group("plugins")
def command() -> None:
    """Inspect the installed plugins and their actions."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Full output with input JSON Schemas.")
def list_plugins(as_json: bool) -> None:
    """List every plugin, its version, its actions, their idempotency and inputs.

    Honours GOVFLOW_PLUGINS_ALLOW, GOVFLOW_PLUGINS_BLOCK and GOVFLOW_PLUGINS_TRACE.
    """
    plugins = _manager().plugin_info()
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode({"plugins": plugins}), indent=2))
    else:
        click.echo(_table(plugins))
