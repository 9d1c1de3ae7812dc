"""``govflow audit seal`` and ``govflow audit verify``: the audit log's hash chain."""

from __future__ import annotations

import sys

import click

from govflow.adapters.db.audit_seals import seal_pending, verify_chain
from govflow.bootstrap import container
from govflow.cli.common import run, settings_or_exit


@click.group("audit")
def audit() -> None:
    """The audit log's tamper evidence."""


@audit.command("seal")
def seal() -> None:
    """Seal the audit rows not sealed yet (the scheduler does this on every sweep)."""
    settings = settings_or_exit()

    async def go() -> str:
        async with container(settings) as services, services.db.pool.acquire() as conn:
            report = await seal_pending(conn)
        return f"sealed {report.rows} row(s) in {report.seals} seal(s)"

    click.echo(run(go()))


@audit.command("verify")
def verify() -> None:
    """Recompute the chain of seals; exit 1 naming every seal that no longer matches."""
    settings = settings_or_exit()

    async def go() -> tuple[bool, str]:
        async with container(settings) as services, services.db.pool.acquire() as conn:
            report = await verify_chain(conn)
        lines = [f"{report.seals} seal(s), {report.rows} row(s) verified", *report.problems]
        return report.ok, "\n".join(lines)

    ok, text = run(go())
    click.echo(text)
    if not ok:
        sys.exit(1)


command = audit
