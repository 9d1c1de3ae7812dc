"""Extra documented answers for routes of the workflow and execution slices.

The policy helpers (``roles(...)``) document the usual error statuses; routes that can also
answer another success status (200 next to 201), 202, 415 or 422 add them here, so the OpenAPI
document lists every status a route may answer.
"""

from __future__ import annotations

from typing import Any

from litestar.openapi.datastructures import ResponseSpec

from govflow.http.envelope import ErrorBody
from govflow.http.policy import RouteKwargs
from govflow.usecases.workflow_views import SpecErrorBody


def with_responses(
    kwargs: RouteKwargs, extra: dict[int, tuple[Any, str]] | None = None, *errors: int
) -> RouteKwargs:
    """``kwargs`` with ``extra`` success answers (status -> (body type, description)) and more
    error statuses (422 is a rejected workflow file)."""
    responses = dict(kwargs["responses"])
    for status, (body, description) in (extra or {}).items():
        responses[status] = ResponseSpec(data_container=body, description=description)
    for status in errors:
        body_type = SpecErrorBody if status == 422 else ErrorBody
        responses[status] = ResponseSpec(data_container=body_type, description="Error envelope")
    return {"opt": kwargs["opt"], "security": kwargs["security"], "responses": responses}
