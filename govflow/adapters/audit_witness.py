"""The optional external witness of the audit chain: each new seal head is POSTed to a URL.

The anchor file lives on a machine an attacker may also control; a witness (another team's
service, a transparency log, an object store with retention) keeps a copy of the newest head
where they cannot reach it. GovFlow only sends; comparing the witness's heads with
``govflow audit verify``'s output is the witness's operator's part.
"""

from __future__ import annotations

import httpx
import msgspec

from govflow.core.audit_chain import SCHEME, SealHead

WITNESS_TIMEOUT_SECONDS = 5.0


class WitnessedHead(msgspec.Struct, frozen=True, kw_only=True):
    """The body POSTed to the witness."""

    scheme: str
    head: SealHead


async def post_head(url: str, head: SealHead, *, timeout: float = WITNESS_TIMEOUT_SECONDS) -> None:
    """POST ``head`` as JSON to ``url``; raise on a transport error or a non-2xx answer.

    The ``Idempotency-Key`` names the seal, so a witness can drop a repeated delivery.
    """
    body = msgspec.json.encode(WitnessedHead(scheme=SCHEME, head=head))
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        response = await client.post(
            url,
            content=body,
            headers={
                "content-type": "application/json",
                "idempotency-key": f"govflow-audit-seal-{head.id}",
            },
        )
        response.raise_for_status()
