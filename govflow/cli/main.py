"""The ``govflow`` command line: one group, one module per command family."""

from __future__ import annotations

import importlib

import click

from govflow import __version__

# Each module exposes ``command`` (a click command or group) added under its own name.
COMMAND_MODULES = (
    "govflow.cli.serve",
    "govflow.cli.database",
    "govflow.cli.users",
    "govflow.cli.workflows",
    "govflow.cli.plugins",
    "govflow.cli.executions",
    "govflow.cli.tasks",
    "govflow.cli.task_authoring",
    "govflow.cli.audit",
    "govflow.cli.jira",
    "govflow.cli.dev",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="govflow")
def cli() -> None:
    """GovFlow: declarative workflows for administrative work."""


def _register_commands() -> None:
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        commands = getattr(module, "commands", None) or [module.command]
        for command in commands:
            cli.add_command(command)


_register_commands()


def main() -> None:
    cli(prog_name="govflow")
