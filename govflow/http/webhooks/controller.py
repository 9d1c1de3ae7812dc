"""``POST /webhooks/{workflow}``: a signed delivery starts one execution of the workflow.

No token: the HMAC signature under the webhook's secret is the credential
(:mod:`govflow.usecases.webhooks`). Every refusal is an error envelope naming the field
(``header.X-GovFlow-Signature``, ``body``, ``inputs.permit_id``); nothing is created by one.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.status_codes import HTTP_201_CREATED

from govflow.bootstrap import Container
from govflow.core.spec import NAME_PATTERN
from govflow.http.envelope import Envelope, ok
from govflow.http.observability import request_id_of
from govflow.http.policy import public
from govflow.http.workflows.openapi import with_responses
from govflow.usecases.webhooks import Accepted, Delivery

WorkflowName = Annotated[str, PathParameter(pattern=NAME_PATTERN, max_length=64)]


@post(
    "/webhooks/{workflow:str}",
    operation_id="deliverWebhook",
    tags=["webhooks"],
    status_code=HTTP_201_CREATED,
    **with_responses(public(), None, 404, 409, 503),
)
async def deliver_webhook(
    workflow: WorkflowName,
    request: Request[Any, Any, Any],
    services: NamedDependency[Container],
) -> Envelope[Accepted]:
    """Start the workflow with the inputs the JSON body maps to: 201 with the execution; 401
    when the signature, the timestamp or the delivery id header is wrong; 409 when the
    delivery id came before; 400 naming the input when the body does not fit; 503 when the
    webhook's secret is not configured."""
    body = await request.body()
    delivery = Delivery(
        workflow=workflow,
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        request_id=request_id_of(request.scope),
    )
    accepted = await services.webhook_receiver().receive(delivery)
    return ok(accepted, "Execution started")
