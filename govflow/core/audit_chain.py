"""The audit log's hash chain: each sealed batch's hash covers its rows and the previous hash.

Rows are encoded canonically (one JSON array per row, fields in a fixed order, as text), so the
same rows always give the same hash; changing, removing or inserting a row inside a sealed range
changes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

GENESIS = "0" * 64
"""The previous hash of the first seal."""

Row = Sequence[object]
"""An audit row's fields in the order of ``SEALED_COLUMNS``, each as text or None."""

SEALED_COLUMNS = (
    "id",
    "occurred_at",
    "action",
    "actor_id",
    "actor_email",
    "entity_type",
    "entity_id",
    "department_id",
    "request_id",
    "reason",
    "metadata",
)


def chain_hash(previous_hash: str, rows: Iterable[Row]) -> str:
    """The hash of a batch of rows chained to ``previous_hash``."""
    digest = hashlib.sha256(previous_hash.encode())
    for row in rows:
        digest.update(b"\n")
        digest.update(json.dumps(list(row), separators=(",", ":"), ensure_ascii=False).encode())
    return digest.hexdigest()
