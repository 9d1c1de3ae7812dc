"""``govflow audit seal`` and ``govflow audit verify``: the audit log's tamper evidence."""

from __future__ import annotations

import sys

import click

from govflow.bootstrap.audit import SealRefused, audit_sealing, seal_audit, verify_audit
from govflow.cli.common import fail, run, settings_or_exit


@click.group("audit")
def audit() -> None:
    """The audit log's tamper evidence."""


@audit.command("seal")
def seal() -> None:
    """Seal and anchor the audit rows not sealed yet (the scheduler does this every 10 s)."""
    settings = settings_or_exit()
    sealing = audit_sealing(settings)

    async def go() -> str:
        report = await seal_audit(settings, sealing)
        if report.busy:
            return f"another process is sealing (it holds {sealing.anchor.lock_path})"
        text = f"sealed {report.rows} row(s) in {report.seals} seal(s)"
        if report.caught_up:
            text += f"; anchored {report.caught_up} seal(s) a crash had left unanchored"
        return text

    try:
        click.echo(run(go()))
    except SealRefused as exc:
        fail(f"refusing to seal: {exc}")


@audit.command("verify")
def verify() -> None:
    """Recompute the seals and compare them with the anchor; exit 1 naming every problem."""
    settings = settings_or_exit()
    sealing = audit_sealing(settings)

    async def go() -> tuple[bool, str]:
        report = await verify_audit(settings, sealing)
        lines = [
            f"{report.seals} seal(s), {report.rows} row(s) verified; "
            f"{report.anchored} seal head(s) anchored in {sealing.anchor.path}; "
            f"{report.unsealed} row(s) not sealed yet",
            *report.problems,
        ]
        return report.ok, "\n".join(lines)

    ok, text = run(go())
    click.echo(text)
    if not ok:
        sys.exit(1)


command = audit
