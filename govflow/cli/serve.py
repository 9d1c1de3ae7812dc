"""``govflow up``, ``api``, ``worker`` and ``scheduler``: the long-running processes."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shlex
import sys

import click

from govflow.bootstrap.audit import development_audit_seal_key
from govflow.bootstrap.database import (
    apply_migrations,
    embedded_app_url,
    read_demo_credentials,
    seed,
)
from govflow.bootstrap.instance import (
    EmbeddedServerError,
    ServiceUrls,
    resolve_service_urls,
    stop_embedded,
)
from govflow.cli.common import fail, serving_settings_or_exit
from govflow.cli.supervisor import StartupError, Supervisor, check_home_writable, check_port_free
from govflow.cli.up_jira import JiraEmulatorPlan, configured_jira_site, plan_jira_emulator
from govflow.plugins.settings import plugin_environment
from govflow.settings import Settings, development_jwt_secret


def _development_env(settings: Settings) -> dict[str, str]:
    if not settings.is_development:
        return {}
    env = {}
    if not settings.jwt_secret:
        secret, created = development_jwt_secret(settings.home)
        if created:
            click.echo(
                f"development mode: generated a JWT secret in {settings.home / 'jwt_secret'}"
            )
        env["JWT_SECRET"] = secret
    if not settings.audit_seal_key:
        key, created = development_audit_seal_key(settings.home)
        if created:
            click.echo(f"development mode: generated an audit seal key in {settings.home}")
        env["AUDIT_SEAL_KEY"] = key
    return env


async def _prepare(settings: Settings, urls: ServiceUrls) -> ServiceUrls:
    """Migrate as the owner, then seed and load as the application; return the URLs the
    processes use (on the embedded cluster: a login of its own acting as ``govflow_app``)."""
    from govflow.cli.workflows import load_workflows

    await apply_migrations(settings)
    if "postgres" in urls.embedded:
        app_url = await embedded_app_url(urls.database_url, settings.home)
        urls = dataclasses.replace(urls, database_url=app_url)
        settings = settings.model_copy(update={"database_url": app_url})
    await seed(settings)
    await load_workflows(settings, settings.workflows_dir, quiet=False)
    return urls


def _jira_banner(jira: JiraEmulatorPlan | None) -> None:
    if jira is None:
        return
    click.echo(
        f"  Jira:     the bundled emulator on {jira.url} (JIRA_BASE_URL is unset): "
        f"projects {', '.join(jira.projects)}"
    )
    click.echo(f"            what it received: {jira.url}/_emulator/requests")


@click.command("up")
def up() -> None:
    """Run GovFlow here: embedded servers, migrate, seed, load; then API, worker and scheduler
    (and, in development mode without JIRA_BASE_URL, the Jira emulator they use)."""
    settings = serving_settings_or_exit()
    try:
        check_home_writable(settings.home)
        check_port_free(settings.host, settings.port)
        urls = resolve_service_urls(settings)
    except (StartupError, EmbeddedServerError) as exc:
        fail(str(exc))
    env = _development_env(settings)
    jira = plan_jira_emulator(settings, configured_jira_site(plugin_environment(os.environ)))
    prepared = settings.model_copy(
        update={"database_url": urls.database_url, "redis_url": urls.redis_url}
    )
    status = 1
    try:
        urls = asyncio.run(_prepare(prepared, urls))
        base = f"http://{settings.host}:{settings.port}"
        click.echo(f"\nGovFlow is starting on {base}")
        click.echo(f"  Console:  {base}/ui")
        click.echo(f"  API docs: {base}/schema  (OpenAPI JSON: {base}/schema/openapi.json)")
        _jira_banner(jira)
        shared = " and ".join(
            name
            for name, value in (
                ("DATABASE_URL", settings.database_url),
                ("REDIS_URL", settings.redis_url),
            )
            if value
        )
        click.echo(
            "For the govflow CLI to reach this instance from another shell: "
            f"export GOVFLOW_HOME={shlex.quote(str(settings.home))}"
            + (f" (with the same {shared})" if shared else "")
        )
        credentials = read_demo_credentials(settings.home)
        if credentials:
            click.echo(
                "Log in with POST /auth/login, or sign in to the console, as one of the demo users:"
            )
            for cred in credentials:
                click.echo(f"  {cred.role:<9} {cred.email:<26} password: {cred.password}")
        click.echo("Press Ctrl-C to stop.\n")
        status = Supervisor(settings, urls, env, jira).run()
    except KeyboardInterrupt:
        status = 0
    finally:
        if urls.embedded:
            stopped = stop_embedded(settings)
            if stopped:
                click.echo("stopped the embedded " + " and ".join(stopped))
    sys.exit(status)


@click.command("api")
@click.option(
    "--workers", type=int, default=None, help="uvicorn worker processes (API_WORKERS, default 1)."
)
def api(workers: int | None) -> None:
    """Serve the REST API with uvicorn (HOST, PORT)."""
    import os

    import uvicorn

    settings = serving_settings_or_exit()
    urls = resolve_service_urls(settings)
    os.environ["DATABASE_URL"] = urls.database_url  # for every worker process
    os.environ["REDIS_URL"] = urls.redis_url
    uvicorn.run(
        "govflow.http.asgi:create",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers or settings.api_workers,
        log_config=None,
        access_log=False,
        lifespan="on",
        # The client address comes from one place, TRUSTED_PROXIES (govflow.http.client_ip):
        # uvicorn would otherwise rewrite it from X-Forwarded-For of any local peer.
        proxy_headers=False,
    )


@click.command("worker")
@click.option(
    "--concurrency", type=int, default=None, help="Steps run at once (WORKER_CONCURRENCY)."
)
def worker(concurrency: int | None) -> None:
    """Run a worker: claims runnable steps and runs their actions."""
    from govflow.worker.runner import run_worker

    settings = serving_settings_or_exit()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    asyncio.run(run_worker(settings))


@click.command("scheduler")
def scheduler() -> None:
    """Run the sweeper: re-sends unclaimed steps, due retries and recovers expired leases."""
    from govflow.worker.runner import run_scheduler

    asyncio.run(run_scheduler(serving_settings_or_exit()))


commands = [up, api, worker, scheduler]
