"""What the OpenAPI document states beyond what Litestar infers, so that it tells the truth.

- :class:`ClosedStructSchemaPlugin`: a request Struct declared ``forbid_unknown_fields`` is an
  object with ``additionalProperties: false`` (an unknown field is a 400).
- :class:`ContractOperation` (every route's ``operation_class``, set by the policy helpers):
  ``page`` and ``limit`` carry the bounds :class:`~govflow.usecases.paging.PageRequest`
  enforces, and a body whose schema admits ``null`` (``JSONBody[X | None] = None``) is not
  required.
- :class:`IdempotentOperation` (set by ``@idempotent``): the operation lists the optional
  ``Idempotency-Key`` request header with the constraints the middleware checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import OpenAPIType, Operation, Parameter, RequestBody, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from govflow.usecases.idempotency_keys import MAX_KEY_LENGTH
from govflow.usecases.paging import MAX_LIMIT

MAX_PAGE = 1_000_000
"""The highest page :class:`~govflow.usecases.paging.PageRequest` accepts."""

PAGING_BOUNDS: dict[str, tuple[int, int]] = {"page": (1, MAX_PAGE), "limit": (1, MAX_LIMIT)}

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_PATTERN = rf"^[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}$"
"""A key: 1 to 200 visible ASCII characters (a UUID is the usual choice)."""


def forbids_unknown_fields(annotation: Any) -> bool:
    config = getattr(annotation, "__struct_config__", None)
    return bool(getattr(config, "forbid_unknown_fields", False))


class ClosedStructSchemaPlugin(OpenAPISchemaPlugin):
    """Litestar's Struct schema, closed (``additionalProperties: false``) when the Struct
    refuses unknown fields."""

    def __init__(self) -> None:
        self._structs = StructSchemaPlugin()

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return (
            not field_definition.is_union
            and field_definition.is_subclass_of(msgspec.Struct)
            and forbids_unknown_fields(field_definition.type_)
        )

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = self._structs.to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


def _admits_null(body: RequestBody) -> bool:
    for media in body.content.values():
        schema = media.schema
        if isinstance(schema, Schema) and any(
            isinstance(option, Schema) and option.type == OpenAPIType.NULL
            for option in schema.one_of or []
        ):
            return True
    return False


@dataclass
class ContractOperation(Operation):
    """An operation with the paging bounds and body requirement the code enforces."""

    def __post_init__(self) -> None:
        for parameter in self.parameters or []:
            if not isinstance(parameter, Parameter) or parameter.param_in != "query":
                continue
            bounds = PAGING_BOUNDS.get(parameter.name)
            if bounds is not None and isinstance(parameter.schema, Schema):
                parameter.schema.minimum, parameter.schema.maximum = bounds
        body = self.request_body
        if isinstance(body, RequestBody) and body.required and _admits_null(body):
            body.required = False


def idempotency_key_parameter() -> Parameter:
    """The optional ``Idempotency-Key`` request header of a route marked ``@idempotent``."""
    return Parameter(
        name=IDEMPOTENCY_KEY_HEADER,
        param_in="header",
        required=False,
        description=(
            "Yours alone, per route: the same request again with the same key gets the first "
            "successful answer again (with `Idempotent-Replayed: true`) instead of a second "
            "effect; the key with another request (path, query or body) is a 422, while the "
            "first request still runs a 409. Kept for IDEMPOTENCY_KEY_TTL_SECONDS (a day by "
            f"default). 1 to {MAX_KEY_LENGTH} visible ASCII characters; a UUID is the usual "
            "choice."
        ),
        schema=Schema(
            type=OpenAPIType.STRING,
            min_length=1,
            max_length=MAX_KEY_LENGTH,
            pattern=IDEMPOTENCY_KEY_PATTERN,
        ),
    )


@dataclass
class IdempotentOperation(ContractOperation):
    """A :class:`ContractOperation` that honours ``Idempotency-Key``, which it lists."""

    def __post_init__(self) -> None:
        super().__post_init__()
        parameters = list(self.parameters or [])
        if not any(
            isinstance(p, Parameter) and p.name.lower() == IDEMPOTENCY_KEY_HEADER.lower()
            for p in parameters
        ):
            parameters.append(idempotency_key_parameter())
        self.parameters = parameters


def idempotent_operation(base: type[ContractOperation]) -> type[ContractOperation]:
    """``base`` (the route's own operation class, e.g. one that states a file body) that also
    lists ``Idempotency-Key``."""
    if issubclass(base, IdempotentOperation):
        return base
    combined = type(f"Idempotent{base.__name__}", (IdempotentOperation, base), {})
    return dataclass(combined)
