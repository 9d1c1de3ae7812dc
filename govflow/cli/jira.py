"""``govflow jira check``: the connection test of ``GET /jira/test-connection``, from here."""

from __future__ import annotations

import os

import click
import httpx
import msgspec

from govflow.bootstrap.jira import JiraConnection, check_connection
from govflow.cli.common import run, settings_or_exit
from govflow.plugins.host import PluginHost
from govflow.plugins.manager import PluginManager
from govflow.plugins.settings import plugin_environment


async def _check() -> JiraConnection:
    env = plugin_environment(os.environ)
    plugins = PluginManager.from_env(env)
    async with httpx.AsyncClient() as http:
        await plugins.startup(plugins.settings(env), PluginHost(http=http, process="cli"))
        try:
            return await check_connection(plugins)
        finally:
            await plugins.shutdown()


def _text(report: JiraConnection) -> str:
    where = f" at {report.base_url}" if report.base_url else ""
    if report.status == "ok" and report.account is not None:
        return f"ok: authenticated as {report.account.display_name}{where}"
    return f"{report.status}{where}: {report.detail or ''}".rstrip(": ")


@click.group("jira")
def command() -> None:
    """Jira Cloud: check the configured connection."""


@command.command("check")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
def check(as_json: bool) -> None:
    """Call Jira's /myself with JIRA_BASE_URL, JIRA_EMAIL and JIRA_API_TOKEN and report: ok,
    disabled, unauthorized, unreachable or error (exit status 0 for ok, 1 otherwise). The
    token is never printed."""
    settings_or_exit()
    report = run(_check())
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(report), indent=2))
    else:
        click.echo(_text(report))
    if report.status != "ok":
        raise SystemExit(1)
