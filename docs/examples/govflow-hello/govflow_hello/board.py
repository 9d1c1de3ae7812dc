"""The greetings board: a remote service the ``hello_post`` action posts greetings to.

The board deduplicates by the ``Idempotency-Key`` header, so the action is ``remote_key``:
a retry sends the same key and the board answers the first result again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from govflow.plugins import BusinessError, TechnicalError
from govflow.plugins.retry_after import parse_retry_after
from govflow_hello.settings import HelloSettings

RETRYABLE = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Board:
    """Where and how to post; built once per process by ``govflow_startup``.

    The requests go through the host's client (``ctx.http``): GovFlow's outbound guard and
    connection pool apply, and nothing here needs closing.
    """

    url: str
    timeout: float
    headers: Mapping[str, str] = field(repr=False)

    @classmethod
    def from_settings(cls, settings: HelloSettings) -> Board | None:
        """The board of ``settings``; ``None`` when no board is configured."""
        if settings.board_url is None:
            return None
        token = settings.board_token
        headers = {"Authorization": f"Bearer {token.reveal()}"} if token else {}
        return cls(url=settings.board_url, timeout=settings.timeout, headers=headers)

    async def post(self, http: httpx.AsyncClient, key: str, body: Any) -> Mapping[str, Any]:
        """POST ``body`` with ``key`` as its ``Idempotency-Key``; return the board's answer.

        :raises TechnicalError: the board cannot be reached or asks to come back later (its
            ``Retry-After`` becomes the least wait before the next attempt).
        :raises BusinessError: the board refuses the greeting.
        """
        try:
            response = await http.post(
                self.url,
                json=body,
                headers={**self.headers, "Idempotency-Key": key},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise TechnicalError(f"the greetings board cannot be reached: {exc!r}") from None
        if response.status_code in RETRYABLE:
            raise TechnicalError(
                f"the greetings board answered {response.status_code}",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                details={"status_code": response.status_code},
            )
        if not response.is_success:
            raise BusinessError(
                f"the greetings board refused the greeting with {response.status_code}",
                details={"status_code": response.status_code},
            )
        return {"status_code": response.status_code}
