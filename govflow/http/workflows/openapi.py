"""Extra documented answers for routes of the workflow and execution slices.

The policy helpers (``roles(...)``) document the usual error statuses; routes that can also
answer another success status (200 next to 201), 202, 415 or 422 add them here, so the OpenAPI
document lists every status a route may answer. Upload and validate read their body themselves
(JSON or YAML): :class:`WorkflowFileOperation` documents it as a required body and the
``filename`` query parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Parameter, RequestBody
from litestar.openapi.spec import Schema as OpenAPISchema

from govflow.core.yaml_source import MAX_BYTES
from govflow.http.envelope import ErrorBody
from govflow.http.openapi_contract import ContractOperation
from govflow.http.policy import RouteKwargs
from govflow.http.workflows.schemas import DEFAULT_FILENAME, FILENAME_PATTERN, YAML_TYPES
from govflow.usecases.workflow_views import SpecErrorBody


def _file_name() -> OpenAPISchema:
    return OpenAPISchema(
        type=OpenAPIType.STRING, pattern=FILENAME_PATTERN, default=DEFAULT_FILENAME
    )


def workflow_file_body() -> RequestBody:
    """A workflow file: YAML text, JSON ``{source, filename}``, or the workflow as JSON."""
    text = OpenAPISchema(
        type=OpenAPIType.STRING, min_length=1, max_length=MAX_BYTES, description="The YAML file"
    )
    upload = OpenAPISchema(
        type=OpenAPIType.OBJECT,
        properties={
            "source": OpenAPISchema(type=OpenAPIType.STRING, min_length=1, max_length=MAX_BYTES),
            "filename": _file_name(),
        },
        required=["source"],
        additional_properties=False,
    )
    spec = OpenAPISchema(
        type=OpenAPIType.OBJECT,
        description=(
            "The workflow itself as JSON (name, title, department, steps, ...; see the DSL "
            "schema, docs/schema/workflow.schema.json), stored as its YAML rendering"
        ),
    )
    content = {"application/json": OpenAPIMediaType(schema=OpenAPISchema(any_of=[upload, spec]))}
    content.update({media: OpenAPIMediaType(schema=text) for media in sorted(YAML_TYPES)})
    return RequestBody(content=content, required=True, description="The workflow file")


@dataclass
class WorkflowFileOperation(ContractOperation):
    """Upload and validate: a required workflow file body and its ``?filename=``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.request_body = workflow_file_body()
        filename = Parameter(
            name="filename",
            param_in="query",
            schema=_file_name(),
            required=False,
            description=(
                "The file name problems are reported under (YAML bodies) and a JSON workflow "
                "is stored under."
            ),
        )
        self.parameters = [*(self.parameters or []), filename]


def with_responses(
    kwargs: RouteKwargs,
    extra: dict[int, tuple[Any, str]] | None = None,
    *errors: int,
    operation_class: type[Operation] | None = None,
) -> RouteKwargs:
    """``kwargs`` with ``extra`` success answers (status -> (body type, description)), more
    error statuses (422 is a rejected workflow file) and another ``operation_class``."""
    responses = dict(kwargs["responses"])
    for status, (body, description) in (extra or {}).items():
        responses[status] = ResponseSpec(data_container=body, description=description)
    for status in errors:
        body_type = SpecErrorBody if status == 422 else ErrorBody
        responses[status] = ResponseSpec(data_container=body_type, description="Error envelope")
    return {
        "opt": kwargs["opt"],
        "security": kwargs["security"],
        "responses": responses,
        "operation_class": operation_class or kwargs["operation_class"],
    }
