"""A workflow's version: the hash of its normalised content.

Normalising decodes the spec (so comments, quoting, key order and flow/block style vanish),
fills in every default and sorts every mapping. Two files that mean the same workflow hash
equal; any change of meaning gives a new hash.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from govflow.core.spec import WorkflowSpec


def normalise(spec: WorkflowSpec) -> dict[str, Any]:
    """The spec as plain data with defaults applied and keys sorted."""
    data: dict[str, Any] = msgspec.to_builtins(spec, order="sorted")
    return data


def content_hash(spec: WorkflowSpec) -> str:
    """The sha256 (hex) of the normalised spec, encoded as canonical JSON."""
    canonical = msgspec.json.encode(normalise(spec), order="sorted")
    return hashlib.sha256(canonical).hexdigest()
