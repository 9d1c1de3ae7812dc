"""``govflow dev``: tools for developing workflows and plugins without the real peers."""

from __future__ import annotations

from pathlib import Path

import click

from govflow.devtools.jira_emulator import SeedError, default_seed, load_seed, serve_forever


@click.group("dev")
def command() -> None:
    """Development tools: local stand-ins for the systems GovFlow talks to."""


@command.command("jira-emulator")
@click.option("--port", type=click.IntRange(0, 65535), required=True, help="0: a free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--seed",
    "seed_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A YAML or JSON seed: accounts, projects, workflows, issues (default: PERMIT and INC).",
)
def jira_emulator(port: int, host: str, seed_path: Path | None) -> None:
    """Serve a Jira Cloud REST API v3 emulator (Basic auth, issues, comments with properties,
    workflow transitions, injectable faults) until Ctrl-C.

    Point GovFlow at it with JIRA_BASE_URL=<the printed URL> and the seed's email and API
    token (by default govflow@example.com / emulator-token). See docs/jira-emulator.md.
    """
    try:
        seed = load_seed(seed_path) if seed_path is not None else default_seed()
    except SeedError as exc:
        for problem in exc.problems:
            click.echo(f"govflow: seed: {problem}", err=True)
        raise SystemExit(2) from None
    user = seed.users[0]

    def ready(url: str) -> None:
        click.echo(f"Jira emulator listening on {url}", nl=True)
        click.echo(f"  JIRA_BASE_URL={url}  JIRA_EMAIL={user.email}  JIRA_API_TOKEN=...")
        click.echo(f"  projects: {', '.join(p.key for p in seed.projects) or '-'}; Ctrl-C stops")

    try:
        serve_forever(seed, host, port, ready)
    except OSError as exc:
        click.echo(f"govflow: {exc}", err=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        pass
