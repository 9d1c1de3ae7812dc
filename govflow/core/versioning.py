"""A workflow's version: the hash of its normalised content.

Normalising decodes the spec (so comments, quoting, key order and flow/block style vanish),
fills in every default and sorts every mapping. Two files that mean the same workflow hash
equal; any change of meaning gives a new hash.

The hash leaves out every field left at its default (written or not: the same meaning), so a
release of GovFlow that adds an optional DSL key does not give every unchanged workflow a new
version on its next load.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from govflow.core.spec import WorkflowSpec


def normalise(spec: WorkflowSpec) -> dict[str, Any]:
    """The spec as plain data with defaults applied and keys sorted (as it is stored)."""
    data: dict[str, Any] = msgspec.to_builtins(spec, order="sorted")
    return data


def meaning(value: Any) -> Any:
    """``value`` as plain data without the fields of its Structs that hold their default."""
    if isinstance(value, msgspec.Struct):
        kept: dict[str, Any] = {}
        for field in msgspec.structs.fields(value):
            held = getattr(value, field.name)
            if field.default is not msgspec.NODEFAULT and held == field.default:
                continue
            if field.default_factory is not msgspec.NODEFAULT and held == field.default_factory():
                continue
            kept[field.encode_name] = meaning(held)
        return kept
    if isinstance(value, dict):
        return {key: meaning(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [meaning(item) for item in value]
    return msgspec.to_builtins(value)


def content_hash(spec: WorkflowSpec) -> str:
    """The sha256 (hex) of the spec's meaning, encoded as canonical JSON."""
    canonical = msgspec.json.encode(meaning(spec), order="sorted")
    return hashlib.sha256(canonical).hexdigest()
