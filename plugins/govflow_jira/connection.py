"""The connection test: ``GET /rest/api/3/myself`` with the configured account.

It bypasses the rate cap and the circuit breaker (it is how an operator finds out why the
breaker opened) and reports, never raising:

=================  ===============================================================
``status``         meaning
=================  ===============================================================
``disabled``       ``JIRA_ENABLED`` is false: Jira steps fail, nothing is called
``ok``             Jira answered 200: the account the token authenticates is shown
``unauthorized``   Jira answered 401 or 403: the email or the API token is wrong
``unreachable``    no answer: DNS, connection refused, TLS, timeout, or a 5xx
``error``          any other answer (its status is reported)
=================  ===============================================================

The API token is never part of the report; the site is shown without user information.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import httpx

from govflow_jira.client import API, jira_messages
from govflow_jira.config import JiraSettings


class ConnectionStatus(StrEnum):
    """The outcome of a connection test."""

    OK = "ok"
    DISABLED = "disabled"
    UNAUTHORIZED = "unauthorized"
    UNREACHABLE = "unreachable"
    ERROR = "error"


def shown_url(url: str | None) -> str | None:
    """``url`` without user information (``https://user:secret@host`` shows ``https://host``)."""
    if not url:
        return url
    try:
        return str(httpx.URL(url).copy_with(username=None, password=None))
    except httpx.InvalidURL:
        return "(not a URL)"


async def check_connection(
    settings: JiraSettings,
    *,
    circuit: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    """Call ``/myself`` and report what happened (see the module docstring)."""
    report: dict[str, Any] = {
        "enabled": settings.enabled,
        "configured": settings.configured,
        "base_url": shown_url(settings.base_url),
        "circuit": circuit,
    }
    if not settings.enabled:
        return report | {"status": ConnectionStatus.DISABLED, "detail": "JIRA_ENABLED is false"}
    if settings.missing:
        return report | {
            "status": ConnectionStatus.DISABLED,
            "detail": "missing " + ", ".join(settings.missing),
        }
    if settings.url_problem:
        return report | {"status": ConnectionStatus.DISABLED, "detail": settings.url_problem}
    token = settings.api_token.reveal() if settings.api_token else ""
    try:
        async with httpx.AsyncClient(
            base_url=str(settings.base_url).rstrip("/"),
            auth=httpx.BasicAuth(str(settings.email), token),
            timeout=httpx.Timeout(settings.timeout_seconds),
            headers={"Accept": "application/json", "User-Agent": "GovFlow"},
            follow_redirects=False,
            transport=transport,
        ) as http:
            response = await http.get(f"{API}/myself")
    except httpx.TimeoutException:
        return report | {
            "status": ConnectionStatus.UNREACHABLE,
            "detail": f"no answer within {settings.timeout_seconds:g}s",
        }
    except (httpx.TransportError, httpx.InvalidURL) as exc:
        return report | {"status": ConnectionStatus.UNREACHABLE, "detail": type(exc).__name__}
    code = response.status_code
    report["http_status"] = code
    if code == 200:
        body = response.json()
        account = {
            "account_id": str(body.get("accountId", "")),
            "display_name": str(body.get("displayName", "")),
            "email": body.get("emailAddress"),
        }
        return report | {"status": ConnectionStatus.OK, "account": account}
    messages, errors = jira_messages(response)
    detail = "; ".join([*messages, *errors.values()]) or f"Jira answered {code}"
    if code in (401, 403):
        return report | {"status": ConnectionStatus.UNAUTHORIZED, "detail": detail}
    if code >= 500:
        return report | {"status": ConnectionStatus.UNREACHABLE, "detail": detail}
    return report | {"status": ConnectionStatus.ERROR, "detail": detail}
