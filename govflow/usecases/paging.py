"""Page requests and pages of results, shared by every list use case."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from govflow.usecases.errors import InvalidInputError

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class PageRequest(msgspec.Struct, frozen=True):
    page: int = 1
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        if self.page < 1 or self.page > 1_000_000:
            problems.append(("query.page", "must be between 1 and 1000000"))
        if not 1 <= self.limit <= MAX_LIMIT:
            problems.append(("query.limit", f"must be between 1 and {MAX_LIMIT}"))
        if problems:
            raise InvalidInputError(problems)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


class Page(msgspec.Struct, Generic[T], frozen=True):
    items: list[T]
    total: int
    request: PageRequest

    @property
    def total_pages(self) -> int:
        return (self.total + self.request.limit - 1) // self.request.limit
