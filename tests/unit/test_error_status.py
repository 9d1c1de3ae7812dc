"""The request metrics label an exception with the status the error handler answers it with."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Request
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)

from govflow.http.errors import handle, status_of
from govflow.usecases.access_errors import RateLimitedError
from govflow.usecases.department_status import DepartmentInactiveError
from govflow.usecases.errors import ConflictError, InvalidInputError, NotFoundError
from govflow.usecases.idempotency_keys import IdempotencyKeyReused

SCOPE: Any = {
    "type": "http",
    "method": "GET",
    "path": "/x",
    "raw_path": b"/x",
    "root_path": "",
    "scheme": "http",
    "query_string": b"",
    "headers": [],
    "server": ("127.0.0.1", 80),
}


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (NotAuthorizedException("Authentication required"), 401),
        (PermissionDeniedException(), 403),
        (NotFoundException(), 404),
        (ValidationException(), 400),
        (HTTPException(status_code=405), 405),
        (HTTPException(status_code=503), 500),
        (InvalidInputError([("body.email", "required")]), 400),
        (NotFoundError("no such thing"), 404),
        (ConflictError("taken"), 409),
        (DepartmentInactiveError(), 403),
        (IdempotencyKeyReused(), 422),
        (RateLimitedError(3), 429),
        (RuntimeError("boom"), 500),
    ],
)
def test_the_status_of_an_exception_is_the_one_it_is_answered_with(
    exc: Exception, status: int
) -> None:
    assert status_of(exc) == handle(Request(SCOPE), exc).status_code == status
