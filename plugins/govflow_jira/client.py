"""An httpx client for the Jira Cloud REST API v3: the calls the Jira actions make.

Every request authenticates with Basic auth (the account's email and an API token), carries the
configured timeout, and passes the :class:`~govflow_jira.guard.Guard` first (rate cap, circuit
breaker). Answers become the action contract's errors:

====================================================  ==========================================
what happened                                         error
====================================================  ==========================================
429                                                   ``TechnicalError``, ``retry_after`` from
                                                      ``Retry-After``
5xx, timeout, connection refused or dropped           ``TechnicalError`` (counts for the breaker)
breaker open, rate cap reached (nothing sent)         ``TechnicalError`` with ``retry_after``
other 4xx (400, 401, 403, 404, 409, 422, ...)         ``BusinessError`` with Jira's
                                                      ``errorMessages`` and ``errors``
====================================================  ==========================================

The API token never appears in an error, a log line or a ``repr``.
"""

from __future__ import annotations

import email.utils
import hashlib
import time
from collections.abc import Mapping
from typing import Any, Final

import httpx
import msgspec

from govflow.plugins import BusinessError, TechnicalError
from govflow_jira.config import JiraSettings
from govflow_jira.guard import REQUESTS, Guard, LocalGuard, Refusal

API: Final = "/rest/api/3"
COMMENT_PROPERTY: Final = "govflow.idempotency"
"""The comment property that holds the idempotency key of the step that wrote the comment."""
TRANSITION_PROPERTY_PREFIX: Final = "govflow.transition."
"""Issue properties ``govflow.transition.<digest of the key>`` record the transitions GovFlow
applied, one per step key."""
PAGE_SIZE: Final = 100


class Transition(msgspec.Struct, frozen=True):
    """A transition available on an issue now."""

    id: str
    name: str
    to_status: str


def transition_property(key: str) -> str:
    """The issue property key recording the transition applied under idempotency ``key``."""
    return TRANSITION_PROPERTY_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:40]


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` (delta-seconds or an HTTP date) as seconds from ``now``; ``None`` when
    absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def jira_messages(response: httpx.Response) -> tuple[list[str], dict[str, str]]:
    """Jira's ``errorMessages`` and ``errors`` from an error answer (empty when absent)."""
    try:
        body = response.json()
    except ValueError:
        return [], {}
    if not isinstance(body, dict):
        return [], {}
    messages = body.get("errorMessages")
    errors = body.get("errors")
    return (
        [str(m) for m in messages] if isinstance(messages, list) else [],
        {str(k): str(v) for k, v in errors.items()} if isinstance(errors, dict) else {},
    )


def _describe(messages: list[str], errors: Mapping[str, str]) -> str:
    parts = [*messages, *(f"{field}: {text}" for field, text in sorted(errors.items()))]
    return "; ".join(parts) if parts else "no details given"


class JiraClient:
    """The Jira calls GovFlow makes, with their errors mapped to the action contract.

    :param settings: the site, the account and the limits (see :class:`JiraSettings`).
    :param guard: the rate cap and circuit breaker (one process's :class:`LocalGuard` unless
        given).
    :param transport: an httpx transport (tests); the default opens real connections.
    """

    def __init__(
        self,
        settings: JiraSettings,
        guard: Guard | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if settings.missing:
            raise ValueError("Jira needs " + ", ".join(settings.missing))
        self.settings = settings
        self.guard: Guard = guard or LocalGuard(
            breaker_failures=settings.breaker_failures,
            breaker_window_seconds=settings.breaker_window_seconds,
            breaker_cooldown_seconds=settings.breaker_cooldown_seconds,
        )
        self._http = httpx.AsyncClient(
            base_url=str(settings.base_url).rstrip("/"),
            auth=httpx.BasicAuth(
                str(settings.email), settings.api_token.reveal() if settings.api_token else ""
            ),
            timeout=httpx.Timeout(settings.timeout_seconds),
            headers={"Accept": "application/json", "User-Agent": "GovFlow"},
            follow_redirects=False,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"JiraClient({self.settings.base_url!r}, email={self.settings.email!r})"

    async def aclose(self) -> None:
        """Close the connections (the guard's too)."""
        await self._http.aclose()
        close = getattr(self.guard, "aclose", None)
        if close is not None:
            await close()

    # -- the calls -------------------------------------------------------------------------

    async def myself(self) -> dict[str, Any]:
        """``GET /myself``: the account the token authenticates."""
        return dict((await self._request("GET", f"{API}/myself")).json())

    async def add_comment(
        self, issue: str, body: Mapping[str, Any], key: str, visibility: Mapping[str, str] | None
    ) -> dict[str, Any]:
        """Add a comment whose ``properties`` carry ``key``, in the same request."""
        payload: dict[str, Any] = {
            "body": dict(body),
            "properties": [{"key": COMMENT_PROPERTY, "value": {"key": key}}],
        }
        if visibility:
            payload["visibility"] = dict(visibility)
        response = await self._request(
            "POST", f"{API}/issue/{issue}/comment", json=payload, expected=(201,)
        )
        return dict(response.json())

    async def find_comment(self, issue: str, key: str) -> dict[str, Any] | None:
        """The comment of ``issue`` whose property carries ``key``, newest first, paging;
        ``None`` when there is none (or no such issue: then there is no comment either)."""
        start = 0
        for _page in range(self.settings.comment_pages):
            response = await self._request(
                "GET",
                f"{API}/issue/{issue}/comment",
                params={
                    "startAt": start,
                    "maxResults": PAGE_SIZE,
                    "orderBy": "-created",
                    "expand": "properties",
                },
                expected=(200, 404),
            )
            if response.status_code == 404:
                return None
            page = response.json()
            comments = page.get("comments") or []
            for comment in comments:
                for prop in comment.get("properties") or []:
                    value = prop.get("value")
                    if (
                        prop.get("key") == COMMENT_PROPERTY
                        and isinstance(value, dict)
                        and value.get("key") == key
                    ):
                        return dict(comment)
            start += len(comments)
            if not comments or start >= int(page.get("total", 0)):
                return None
        raise TechnicalError(
            f"the comment carrying this step's key was not found in the newest "
            f"{start} comments of {issue}; giving up the search",
            details={"issue": issue, "comments_read": start},
        )

    async def transitions(self, issue: str) -> list[Transition]:
        """The transitions available on ``issue`` now."""
        body = (await self._request("GET", f"{API}/issue/{issue}/transitions")).json()
        return [
            Transition(
                id=str(item.get("id")),
                name=str(item.get("name", "")),
                to_status=str((item.get("to") or {}).get("name", "")),
            )
            for item in body.get("transitions") or []
        ]

    async def transition(
        self,
        issue: str,
        transition_id: str,
        *,
        key: str,
        record: Mapping[str, Any],
        fields: Mapping[str, Any] | None = None,
        comment: Mapping[str, Any] | None = None,
    ) -> None:
        """Apply a transition; the issue property for ``key`` (value ``record``) is written by
        the same request."""
        payload: dict[str, Any] = {
            "transition": {"id": transition_id},
            "properties": [{"key": transition_property(key), "value": dict(record)}],
        }
        if fields:
            payload["fields"] = dict(fields)
        if comment:
            payload["update"] = {"comment": [{"add": {"body": dict(comment)}}]}
        await self._request(
            "POST", f"{API}/issue/{issue}/transitions", json=payload, expected=(204,)
        )

    async def status(self, issue: str) -> str:
        """The name of ``issue``'s current status."""
        body = (
            await self._request("GET", f"{API}/issue/{issue}", params={"fields": "status"})
        ).json()
        return str(((body.get("fields") or {}).get("status") or {}).get("name", ""))

    async def transition_record(self, issue: str, key: str) -> dict[str, Any] | None:
        """The record of the transition applied under ``key``, if ``issue`` carries one."""
        response = await self._request(
            "GET",
            f"{API}/issue/{issue}/properties/{transition_property(key)}",
            expected=(200, 404),
        )
        if response.status_code == 404:  # no such property (or no such issue: not applied)
            return None
        value = response.json().get("value")
        return dict(value) if isinstance(value, dict) else {}

    # -- one request -----------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        expected: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        """Send one request through the guard; the answer if its status is ``expected``."""
        what = f"{method} {path}"
        try:
            await self.guard.admit()
        except Refusal as refused:
            raise TechnicalError(
                f"Jira not called ({what}): {refused}",
                details={"retry_after": refused.retry_after},
                retry_after=refused.retry_after,
            ) from None
        try:
            response = await self._http.request(method, path, params=params, json=json)
        except httpx.TimeoutException as exc:
            await self._failed()
            raise TechnicalError(
                f"Jira did not answer {what} within {self.settings.timeout_seconds:g}s "
                f"({type(exc).__name__})"
            ) from None
        except httpx.TransportError as exc:
            await self._failed()
            raise TechnicalError(
                f"Jira could not be reached for {what} ({type(exc).__name__})"
            ) from None
        code = response.status_code
        if code >= 500:
            await self._failed()
            messages, errors = jira_messages(response)
            raise TechnicalError(
                f"Jira answered {what} with {code}: {_describe(messages, errors)}",
                details={"status_code": code},
            )
        await self.guard.succeeded()
        if code in expected:
            REQUESTS.labels("ok").inc()
            return response
        if code == 429:
            REQUESTS.labels("rate_limited").inc()
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            suffix = f"; Retry-After {wait:g}s" if wait is not None else ""
            raise TechnicalError(
                f"Jira rate-limited {what} (429{suffix})",
                details={"status_code": 429} | ({"retry_after": wait} if wait is not None else {}),
                retry_after=wait,
            )
        REQUESTS.labels("refused").inc()
        messages, errors = jira_messages(response)
        raise BusinessError(
            f"Jira refused {what} with {code}: {_describe(messages, errors)}",
            details={"status_code": code, "errorMessages": messages, "errors": errors},
        )

    async def _failed(self) -> None:
        REQUESTS.labels("error").inc()
        await self.guard.failed()
