"""Shared helpers of the CLI commands: settings, the async runner, error exits."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

import click

from govflow.bootstrap.instance import (
    EmbeddedServerError,
    command_lifetime,
    configure_logging,
    database_problem,
)
from govflow.plugins import PluginManager
from govflow.plugins.settings import plugin_environment
from govflow.settings import Settings, SettingsError, load_settings

T = TypeVar("T")

EXIT_CONFIG = 2


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"govflow: {message}", err=True)
    sys.exit(code)


def parse_pairs(pairs: tuple[str, ...], option: str) -> dict[str, Any]:
    """``KEY=VALUE`` pairs of a repeatable option; a value that is valid JSON (``12.5``,
    ``true``, ``["a"]``) keeps its type, any other is text."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            fail(f"{option}: expected KEY=VALUE, got {pair!r}")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    return values


def settings_or_exit() -> Settings:
    """The validated settings; on a bad environment, one line per problem and exit status 2."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        for problem in exc.problems:
            click.echo(f"govflow: configuration: {problem}", err=True)
        sys.exit(EXIT_CONFIG)
    configure_logging(settings.log_level, settings.log_format)
    return settings


def serving_settings_or_exit() -> Settings:
    """The validated settings of a server (``up``, ``api``, ``worker``, ``scheduler``): GovFlow's
    and every plugin's. A malformed or missing plugin setting is reported like GovFlow's own, one
    line per problem naming the variable, and stops the process with exit status 2; a plugin that
    fails to load is only logged: the server starts without it."""
    settings = settings_or_exit()
    env = plugin_environment(os.environ)
    problems = PluginManager.from_env(env).settings_problems(env)
    if problems:
        for problem in problems:
            click.echo(f"govflow: configuration: {problem}", err=True)
        sys.exit(EXIT_CONFIG)
    return settings


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` as a short command.

    The embedded servers it had to start are stopped when it ends, unless another command still
    uses them; servers that were running already are left alone. Embedded-server failures and a
    database that is not migrated become a one-line error (exit status 1).
    """
    try:
        with command_lifetime():
            return asyncio.run(coro)
    except EmbeddedServerError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "))
    except Exception as exc:
        problem = database_problem(exc)
        if problem is None:
            raise
        fail(problem)
