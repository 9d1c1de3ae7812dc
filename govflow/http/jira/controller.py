"""``GET /jira/test-connection`` (ADMIN, at most six a minute per user): is Jira reachable with
the configured account? Calls Jira's ``/myself`` and reports ``ok``, ``disabled``,
``unauthorized``, ``unreachable`` or ``error`` with the circuit breaker's state; the API token
never appears in the answer."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from govflow.bootstrap import Container
from govflow.bootstrap.jira import JiraConnection, check_connection, connection_check_allowed
from govflow.http.envelope import Envelope, ErrorBody, ok
from govflow.http.policy import roles
from govflow.usecases.access_errors import RateLimitedError
from govflow.usecases.principal import Principal, Role

_ROUTE = roles(Role.ADMIN)
_ROUTE["responses"] = {
    **_ROUTE["responses"],
    429: ResponseSpec(data_container=ErrorBody, description="Too many connection tests"),
}


class JiraController(Controller):
    path = "/jira"
    tags = ["jira"]

    @get(
        "/test-connection",
        operation_id="testJiraConnection",
        summary="Call Jira with the configured account and report the outcome",
        **_ROUTE,
    )
    async def test_connection(
        self, services: NamedDependency[Container], principal: NamedDependency[Principal]
    ) -> Envelope[JiraConnection]:
        """``status`` says what happened; a 200 whatever Jira answered (the test ran)."""
        wait = await connection_check_allowed(services, f"user:{principal.user_id}")
        if wait is not None:
            raise RateLimitedError(wait, "Too many Jira connection tests; try again later")
        report = await check_connection(services.plugins)
        return ok(report, f"Jira connection: {report.status}")
