"""Receiving a webhook delivery: check its signature, map its body, start one execution.

The order matters for hostile input: nothing of the body is read before its signature holds
(the raw bytes are signed), and a refused delivery creates nothing. A signed delivery that
starts nothing (its body does not fit the inputs, its id was delivered before) is audited
(``WEBHOOK_DELIVERY_REFUSED``); an unsigned one is only counted and logged, since anyone can
send those. The execution carries the idempotency key ``webhook:<workflow id>:<delivery id>``:
two deliveries with one id, even at the same instant, start one execution.

Error tree (each a :class:`~govflow.usecases.errors.UseCaseError`; the code sets the status)::

    DeliveryNotSigned      401  WEBHOOK_SIGNATURE_INVALID
    DeliveryReplayed       409  WEBHOOK_DELIVERY_REPLAYED
    WebhookSecretUnset     503  WEBHOOK_SECRET_UNSET
    (NotFoundError         404  no such workflow, or it has no webhook)
    (InvalidInputError     400  the body or the inputs, each problem naming its field)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.secrets import SecretLookup
from govflow.core.trigger_spec import WebhookTrigger
from govflow.core.webhook import (
    MAX_BODY_BYTES,
    DeliveryRefused,
    WebhookError,
    check_headers,
    delivery_key,
    map_body,
)
from govflow.usecases.audit import AuditEntry
from govflow.usecases.errors import InvalidInputError, NotFoundError, UseCaseError
from govflow.usecases.idempotency_keys import IdempotencyKeyReused
from govflow.usecases.start_execution import StartRequest, StartResult

log = logging.getLogger("govflow.triggers")


class DeliveryNotSigned(UseCaseError):
    """The delivery is not signed with the webhook's secret."""

    code = WebhookError.SIGNATURE_INVALID.value

    def __init__(self, refused: DeliveryRefused) -> None:
        super().__init__(str(refused))
        self.problems = [(refused.field, refused.message)]


class DeliveryReplayed(UseCaseError):
    """This workflow received a delivery with this id before; nothing new was started."""

    code = WebhookError.DELIVERY_REPLAYED.value

    def __init__(self, delivery: str, execution_id: UUID | None) -> None:
        super().__init__(f"the delivery {delivery!r} was received before")
        self.execution_id = execution_id


class WebhookSecretUnset(UseCaseError):
    """The webhook's secret is not configured: no delivery can be checked."""

    code = WebhookError.SECRET_UNSET.value


class WebhookTarget(msgspec.Struct, frozen=True, kw_only=True):
    """A workflow whose current version has a webhook."""

    workflow_id: UUID
    name: str
    department_id: UUID | None
    trigger: WebhookTrigger


class WebhookCatalog(Protocol):
    async def target(self, name: str) -> WebhookTarget | None:
        """The workflow ``name`` if its current version has a webhook."""
        ...


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    workflow: str
    headers: Mapping[str, str]
    """The request's headers, names in lower case."""
    body: bytes
    request_id: str | None = None


class Accepted(msgspec.Struct, frozen=True, kw_only=True):
    execution_id: UUID
    workflow_id: UUID
    delivery_id: str


class WebhookReceiver:
    """Receives deliveries (see the module docstring).

    :param secrets: the secret providers (``GOVFLOW_SECRET_<NAME>``, then the plugins').
    :param start: the start use case.
    :param audit: appends audit entries in a transaction of their own.
    :param clock: the time now, for the timestamp window.
    """

    def __init__(
        self,
        catalog: WebhookCatalog,
        secrets: SecretLookup,
        start: Callable[[StartRequest], Awaitable[StartResult]],
        audit: Callable[[list[AuditEntry]], Awaitable[None]],
        clock: Callable[[], datetime],
    ) -> None:
        self._catalog = catalog
        self._secrets = secrets
        self._start = start
        self._audit = audit
        self._clock = clock

    async def receive(self, delivery: Delivery) -> Accepted:
        """Start the delivery's execution.

        :raises NotFoundError: no workflow of that name has a webhook.
        :raises WebhookSecretUnset: its secret is not configured.
        :raises DeliveryNotSigned: a header is missing, stale or not signed with the secret.
        :raises InvalidInputError: the body is too large, not JSON, or does not fit the inputs.
        :raises DeliveryReplayed: the delivery id was received before.
        :raises ConflictError: the workflow is deactivated.
        """
        target = await self._catalog.target(delivery.workflow)
        if target is None:
            raise NotFoundError(f"workflow {delivery.workflow} has no webhook")
        secret = self._secrets(target.trigger.secret)
        if not secret:
            log.error("webhook of %s: secret %s is not set", target.name, target.trigger.secret)
            raise WebhookSecretUnset(
                f"the webhook's secret {target.trigger.secret} is not configured"
            )
        if len(delivery.body) > MAX_BODY_BYTES:
            raise InvalidInputError([("body", f"larger than {MAX_BODY_BYTES} bytes")])
        try:
            delivery_id = check_headers(delivery.headers, delivery.body, secret, self._clock())
        except DeliveryRefused as refused:
            log.warning("webhook of %s refused: %s", target.name, refused)
            raise DeliveryNotSigned(refused) from None
        try:
            return await self._start_for(target, delivery, delivery_id)
        except (InvalidInputError, DeliveryReplayed) as refused:
            await self._audit([_refused(target, delivery, delivery_id, refused)])
            raise

    async def _start_for(
        self, target: WebhookTarget, delivery: Delivery, delivery_id: str
    ) -> Accepted:
        try:
            body = msgspec.json.decode(delivery.body)
        except msgspec.DecodeError:
            raise InvalidInputError([("body", "not valid JSON")]) from None
        try:
            inputs = map_body(target.trigger, body)
        except DeliveryRefused as refused:
            raise InvalidInputError([(refused.field, refused.message)]) from None
        try:
            result = await self._start(
                StartRequest(
                    workflow=target.workflow_id,
                    inputs=inputs,
                    idempotency_key=delivery_key(target.workflow_id, delivery_id),
                    request_id=delivery.request_id,
                )
            )
        except IdempotencyKeyReused:  # the id came before with another body
            raise DeliveryReplayed(delivery_id, None) from None
        if not result.created:
            raise DeliveryReplayed(delivery_id, result.execution_id)
        await self._audit(
            [
                AuditEntry(
                    action=AuditEvent.WEBHOOK_DELIVERY_ACCEPTED,
                    entity_type="workflow",
                    entity_id=str(target.workflow_id),
                    department_id=target.department_id,
                    request_id=delivery.request_id,
                    metadata={
                        "trigger": "webhook",
                        "delivery": delivery_id,
                        "execution_id": str(result.execution_id),
                    },
                )
            ]
        )
        return Accepted(
            execution_id=result.execution_id,
            workflow_id=target.workflow_id,
            delivery_id=delivery_id,
        )


def _refused(
    target: WebhookTarget, delivery: Delivery, delivery_id: str, error: UseCaseError
) -> AuditEntry:
    problems = getattr(error, "problems", None) or []
    return AuditEntry(
        action=AuditEvent.WEBHOOK_DELIVERY_REFUSED,
        entity_type="workflow",
        entity_id=str(target.workflow_id),
        department_id=target.department_id,
        request_id=delivery.request_id,
        reason=str(error)[:500],
        metadata={
            "trigger": "webhook",
            "delivery": delivery_id,
            "code": error.code,
            "fields": [str(field) for field, _ in problems][:20],
        },
    )
