"""``LIKE`` patterns built from user text: a search for ``50%`` or ``a_b`` finds exactly that."""

from __future__ import annotations

LIKE_ESCAPE = "\\"
"""The escape character the patterns use; queries name it with ``ESCAPE '\\'``."""


def contains(text: str) -> str:
    """A pattern matching ``text`` anywhere, with ``%``, ``_`` and ``\\`` taken literally."""
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"
