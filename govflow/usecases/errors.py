"""The errors use cases raise; the HTTP layer and the CLI map them to answers.

Error tree::

    UseCaseError
    ├── NotFoundError        no such object (or not visible to the caller's department)
    ├── ConflictError        the object is not in a state that allows the request
    └── InvalidInputError    the request's data is invalid; ``problems`` name each field
"""

from __future__ import annotations


class UseCaseError(Exception):
    """A request could not be carried out."""

    code = "ERROR"


class NotFoundError(UseCaseError):
    """No such object, or not one the caller may see."""

    code = "NOT_FOUND"


class ConflictError(UseCaseError):
    """The object's current state does not allow the request."""

    code = "CONFLICT"


class InvalidInputError(UseCaseError):
    """The request's data is invalid."""

    code = "VALIDATION_FAILED"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))
        self.problems = problems
