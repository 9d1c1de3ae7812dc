"""The audit log's tamper evidence for the CLI: seal the rows not sealed yet, verify the chain.

The scheduler seals on its own (:mod:`govflow.worker.runner`); these run the same code once.
"""

from __future__ import annotations

from govflow.adapters.audit_sealing import (
    AuditSealing,
    audit_sealing,
    development_audit_seal_key,
)
from govflow.adapters.db.audit_seals import (
    SealRefused,
    SealReport,
    VerifyReport,
    seal_pending,
    verify_chain,
)
from govflow.bootstrap.graph import Container, container
from govflow.settings import Settings

__all__ = [
    "AuditSealing",
    "SealRefused",
    "SealReport",
    "VerifyReport",
    "audit_sealing",
    "development_audit_seal_key",
    "seal_audit",
    "verify_audit",
    "verify_running",
]


async def seal_audit(settings: Settings, sealing: AuditSealing) -> SealReport:
    """Seal and anchor the pending rows once.

    :raises SealRefused: the database's chain does not continue the anchored one.
    """
    async with container(settings) as services, services.db.pool.acquire() as conn:
        return await seal_pending(conn, sealing)


async def verify_audit(settings: Settings, sealing: AuditSealing) -> VerifyReport:
    """Recompute every seal and compare the chain with the anchor."""
    async with container(settings) as services, services.db.pool.acquire() as conn:
        return await verify_chain(conn, sealing)


async def verify_running(services: Container) -> VerifyReport:
    """:func:`verify_audit` over a started container (the console's check, on demand)."""
    sealing = audit_sealing(services.settings)
    async with services.db.pool.acquire() as conn:
        return await verify_chain(conn, sealing)
