"""The response envelope every endpoint answers with.

Success: ``{success: true, message, data}``; lists add ``pagination {page, limit, total,
totalPages}``. Errors: ``{success: false, message, code, errors: [{field, message}]}``.
Controllers build bodies with :func:`ok` and :func:`paged`; errors come from ``errors.py``.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from govflow.usecases.paging import Page

T = TypeVar("T")


class Envelope(msgspec.Struct, Generic[T]):
    """A successful answer."""

    data: T
    message: str = "Request completed successfully"
    success: bool = True


class Pagination(msgspec.Struct, rename="camel"):
    page: int
    limit: int
    total: int
    total_pages: int


class PagedEnvelope(msgspec.Struct, Generic[T]):
    """A page of a list."""

    data: list[T]
    pagination: Pagination
    message: str = "Resources retrieved successfully"
    success: bool = True


class ErrorItem(msgspec.Struct):
    field: str
    message: str


class ErrorBody(msgspec.Struct):
    """A failed answer; ``code`` is stable and machine-readable."""

    message: str
    code: str
    errors: list[ErrorItem] = msgspec.field(default_factory=list)
    success: bool = False


def ok(data: T, message: str = "Request completed successfully") -> Envelope[T]:
    return Envelope(data=data, message=message)


def paged(page: Page[T], message: str = "Resources retrieved successfully") -> PagedEnvelope[T]:
    return PagedEnvelope(
        data=page.items,
        pagination=Pagination(
            page=page.request.page,
            limit=page.request.limit,
            total=page.total,
            total_pages=page.total_pages,
        ),
        message=message,
    )
