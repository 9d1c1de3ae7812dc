"""The Jira plugin's settings: ``GOVFLOW_JIRA_<NAME>``, or the historic ``JIRA_<NAME>``.

They are the one place Jira is configured: GovFlow's own settings know nothing of Jira. The
Node GovFlow's ``JIRA_TIMEOUT_MS`` is read too, as ``timeout_seconds`` in milliseconds.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from govflow.plugins.settings import Env, Secret

LOOPBACK_HOSTS = frozenset({"localhost", "::1"})


class JiraSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How to reach Jira Cloud, and how hard to push it.

    :ivar enabled: Jira steps and the connection test run only when true.
    :ivar base_url: the site, e.g. ``https://example.atlassian.net``.
    :ivar email: the account the API token belongs to.
    :ivar api_token: the API token (a secret: never logged, never shown).
    :ivar timeout_seconds: per request (connect, read, write, pool); also read from
        ``JIRA_TIMEOUT_MS`` in milliseconds (set with ``JIRA_TIMEOUT_SECONDS`` to another
        value, a problem naming both).
    :ivar rate_limit_window_ms: the window of the rate cap shared by every worker.
    :ivar rate_limit_max: requests per window across the deployment (``0``: no cap).
    :ivar breaker_failures: technical failures within ``breaker_window_seconds`` that open
        the circuit breaker.
    :ivar breaker_window_seconds: the window those failures are counted in.
    :ivar breaker_cooldown_seconds: how long the breaker stays open before a request may probe.
    :ivar comment_pages: at most this many pages of 100 comments are read to find a comment
        by its key.
    :ivar redis_prefix: the Redis keys of the rate cap and the breaker (one per deployment).
    """

    enabled: Annotated[bool, Env("JIRA_ENABLED")] = False
    base_url: Annotated[str | None, Env("JIRA_BASE_URL")] = None
    email: Annotated[str | None, Env("JIRA_EMAIL")] = None
    api_token: Annotated[Secret | None, Env("JIRA_API_TOKEN")] = None
    timeout_seconds: Annotated[
        float,
        msgspec.Meta(gt=0, le=120),
        Env("JIRA_TIMEOUT_SECONDS"),
        Env("JIRA_TIMEOUT_MS", divide_by=1000),
    ] = 10.0
    rate_limit_window_ms: Annotated[
        int, msgspec.Meta(ge=1000), Env("JIRA_RATE_LIMIT_WINDOW_MS")
    ] = 60_000
    rate_limit_max: Annotated[int, msgspec.Meta(ge=0), Env("JIRA_RATE_LIMIT_MAX")] = 300
    breaker_failures: Annotated[int, msgspec.Meta(ge=1)] = 5
    breaker_window_seconds: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    breaker_cooldown_seconds: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    comment_pages: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 50
    redis_prefix: Annotated[str, msgspec.Meta(min_length=1)] = "govflow:jira"

    def __post_init__(self) -> None:
        """Enabled, Jira needs a site, an account and a token: a process does not start
        without them."""
        if self.enabled and self.missing:
            raise ValueError("required when JIRA_ENABLED=true: " + ", ".join(self.missing))

    @property
    def missing(self) -> list[str]:
        """The settings Jira needs that are not set, by their historic variable names."""
        return [
            name
            for name, value in (
                ("JIRA_BASE_URL", self.base_url),
                ("JIRA_EMAIL", self.email),
                ("JIRA_API_TOKEN", self.api_token),
            )
            if not value
        ]

    @property
    def url_problem(self) -> str | None:
        """Why ``base_url`` cannot be used: the token is only sent over https, or over http to a
        loopback address (the emulator)."""
        if not self.base_url:
            return None
        scheme, _, rest = self.base_url.partition("://")
        host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
        host = host[1:].split("]", 1)[0] if host.startswith("[") else host.split(":", 1)[0]
        if scheme == "https" and host:
            return None
        if scheme == "http" and (host in LOOPBACK_HOSTS or host.startswith("127.")):
            return None
        return "JIRA_BASE_URL: must be an https:// URL (http:// only to a loopback address)"

    @property
    def configured(self) -> bool:
        """Enabled, with a site, an account and a token."""
        return self.enabled and not self.missing and self.url_problem is None
