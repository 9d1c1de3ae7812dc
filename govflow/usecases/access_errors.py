"""Errors of authentication and access control, in the tree of ``govflow.usecases.errors``::

UseCaseError
├── NotAuthenticatedError   no valid credentials, or credentials that were revoked
├── ForbiddenError          authenticated, but not allowed to do this
├── RateLimitedError        too many attempts; carries the seconds to wait
└── ConflictError
    └── FieldConflictError  a clash with existing data that one field names (``body.code``)
"""

from __future__ import annotations

from govflow.usecases.errors import ConflictError, UseCaseError


class NotAuthenticatedError(UseCaseError):
    """Authentication required."""

    code = "UNAUTHORIZED"


class ForbiddenError(UseCaseError):
    """You are not allowed to do this."""

    code = "FORBIDDEN"


class RateLimitedError(UseCaseError):
    """Too many attempts; try again later."""

    code = "RATE_LIMITED"

    def __init__(self, retry_after: int, message: str = "Too many attempts; try again later"):
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class FieldConflictError(ConflictError):
    """The value of one field clashes with existing data."""

    def __init__(self, message: str, field: str, problem: str) -> None:
        super().__init__(message)
        self.problems = [(field, problem)]
